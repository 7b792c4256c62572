package org.redhare.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.redhare.core.attention.KvDtype;
import org.redhare.engine.EngineConfig;

/** The chat page at / in a real headless Chromium: send a message, watch tokens stream in, stop a reply. */
class WebChatPageTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static TestServer ts;
    static WebDriver driver;

    @BeforeAll
    static void up(@TempDir Path profile) {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "Chromium or chromedriver not installed (/usr/bin/chromium, /usr/bin/chromedriver): skipped. "
                        + "Install them with: apt-get install -y chromium chromium-driver");
        // Real text through the Qwen3 tokenizer and chat template; a long context so a reply can run long enough to be stopped.
        // Its generation_config.json recommends a temperature and a top-k: the page starts from them.
        Path model = profile.resolve("model");
        try {
            Files.createDirectories(model);
            try (var files = Files.list(TextModels.qwen3())) {
                for (Path f : files.toList()) {
                    Files.createSymbolicLink(model.resolve(f.getFileName()), f);
                }
            }
            Files.writeString(model.resolve("generation_config.json"), "{\"temperature\": 0.6, \"top_k\": 20}");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ts = new TestServer(model, ServerConfig.local("tiny"), new EngineConfig(8192, 16384, KvDtype.F32, 16, 256, 8, false));
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile.resolve("chromium").toAbsolutePath());
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, o);
    }

    @AfterAll
    static void down() {
        if (driver != null) driver.quit();
        if (ts != null) ts.close();
    }

    private static WebDriverWait waitUpTo(int seconds) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds));
    }

    private static void setField(String id, String value) {
        WebElement e = driver.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    @Test
    void sendStreamThenStop() {
        driver.get(ts.base() + "/");
        waitUpTo(20).until(d -> d.findElement(By.id("model-name")).getText().equals("tiny"));
        driver.findElement(By.id("toggle-settings")).click();
        setField("max_tokens", "16");
        setField("temperature", "0");

        // A short reply runs to its end.
        setField("input", "Hello there");
        driver.findElement(By.id("send")).click();
        waitUpTo(60).until(d -> d.findElements(By.cssSelector(".msg.assistant.done")).size() == 1);
        WebElement first = driver.findElement(By.cssSelector(".msg.assistant .content"));
        assertThat(first.getText()).isNotBlank();
        assertThat(driver.findElement(By.cssSelector(".msg.user .content")).getText()).isEqualTo("Hello there");
        assertThat(driver.findElement(By.cssSelector(".msg.assistant .stats")).getText()).contains("16 tokens");

        // A long reply: tokens appear while it streams, the stop button ends it and frees its sequence.
        setField("max_tokens", "8000");
        setField("input", "Tell me a long story");
        driver.findElement(By.id("send")).click();
        waitUpTo(60).until(d -> {
            var streaming = d.findElements(By.cssSelector(".msg.assistant.streaming .content"));
            return !streaming.isEmpty() && streaming.get(0).getText().length() > 20;
        });
        assertThat(driver.findElement(By.id("stop")).isDisplayed()).isTrue();
        driver.findElement(By.id("stop")).click();
        waitUpTo(30).until(d -> d.findElements(By.cssSelector(".msg.assistant.done")).size() == 2);
        var stats = driver.findElements(By.cssSelector(".msg.assistant .stats"));
        assertThat(stats.get(1).getText()).contains("stopped");
        assertThat(driver.findElement(By.id("send")).isDisplayed()).isTrue();
        // The server noticed the client going away and cancelled the sequence: its KV blocks are free again.
        waitUpTo(30).until(d -> ts.engine.usedBlocks() == 0 && ts.server != null);

        // New chat clears the conversation.
        driver.findElement(By.id("new-chat")).click();
        assertThat(driver.findElements(By.cssSelector(".msg"))).isEmpty();
    }

    /** The settings start from the model's recommendation where it gives one, from the page's own values elsewhere. */
    @Test
    void samplingSettingsStartFromTheModelsRecommendation() {
        driver.get(ts.base() + "/");
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("localStorage.clear()");
        driver.navigate().refresh();
        waitUpTo(20).until(d -> d.findElement(By.id("temperature")).getDomProperty("value").equals("0.6"));
        assertThat(driver.findElement(By.id("top_k")).getDomProperty("value")).isEqualTo("20");
        assertThat(driver.findElement(By.id("top_p")).getDomProperty("value")).isEqualTo("0.95");
        assertThat(driver.findElement(By.id("temperature")).getDomProperty("title")).isEqualTo("the model recommends 0.6");
        // a value the user typed is theirs: kept over the recommendation on the next visit
        driver.findElement(By.id("toggle-settings")).click();
        setField("temperature", "1.1");
        driver.findElement(By.id("top_p")).click(); // blur: the change event saves it
        driver.navigate().refresh();
        waitUpTo(20).until(d -> d.findElement(By.id("model-name")).getText().equals("tiny"));
        assertThat(driver.findElement(By.id("temperature")).getDomProperty("value")).isEqualTo("1.1");
        assertThat(driver.findElement(By.id("top_k")).getDomProperty("value")).isEqualTo("20");
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("localStorage.clear()");
    }

    @Test
    void markdownIsRenderedAndHtmlEscaped() {
        driver.get(ts.base() + "/");
        Object html = ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "return RedHareMarkdown.render(arguments[0]);", "# Title\n**bold** and `x<y`\n\n```js\nlet a = '<b>';\n```\n<img src=x onerror=alert(1)>");
        assertThat(html.toString())
                .contains("<h1>Title</h1>")
                .contains("<strong>bold</strong>")
                .contains("<code>x&lt;y</code>")
                .contains("<pre><code class=\"language-js\">let a = &#39;&lt;b&gt;&#39;;</code></pre>")
                .contains("&lt;img src=x onerror=alert(1)&gt;")
                .doesNotContain("<img");
    }
}
