package org.redhare.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.redhare.text.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of a text as a JSON array (the model's tokenizer; no model weights needed).")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "PATH",
            description = "model folder (or one holding only tokenizer.json/tokenizer_config.json), or a .gguf file")
    Path model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "the text to tokenize")
    String text;

    @Option(names = "--special", description = "match special-token text such as <|im_start|> as those tokens (otherwise it is plain text)")
    boolean special;

    @Option(names = "--add-special-tokens", description = "apply the tokenizer's post-processor (adds BOS where the model does)")
    boolean addSpecialTokens;

    @Option(names = "--show-tokens", description = "print each id with its vocabulary entry, one per line, instead of the array")
    boolean showTokens;

    @Override
    public Integer call() {
        Tokenizer tokenizer = TextCodec.require(model, "tokenize").text().tokenizer();
        int[] ids = tokenizer.encode(text, addSpecialTokens, special);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (showTokens) {
            for (int id : ids) {
                out.println(id + "\t" + tokenizer.tokenString(id));
            }
        } else {
            out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]")));
        }
        return 0;
    }
}
