package org.redhare.cli;

import org.redhare.engine.InvalidRequestException;
import org.redhare.model.ModelLoadException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code redhare} command. */
@Command(name = "redhare", mixinStandardHelpOptions = true, version = "RedHare 0.1.0",
        description = "LLM inference on the JVM, CPU first: Hugging Face checkpoints as published.",
        subcommands = {GenerateCommand.class, PerplexityCommand.class, InfoCommand.class, BenchCommand.class, SynthCommand.class,
                QuantizeCommand.class, ChatCommand.class, TokenizeCommand.class, TemplateCommand.class, ServeCommand.class,
                BenchServeCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (0 ok, 1 failure, 2 bad usage). */
    public static int run(String... args) {
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable e = ex;
            if (e instanceof CliException || e instanceof ModelLoadException || e instanceof InvalidRequestException
                    || e instanceof IllegalArgumentException || e instanceof java.io.IOException || e instanceof java.io.UncheckedIOException) {
                commandLine.getErr().println("error: " + e.getMessage());
                return e instanceof InvalidRequestException || e instanceof CliException c && c.usage ? 2 : 1;
            }
            commandLine.getErr().println("error: " + e);
            e.printStackTrace(commandLine.getErr());
            return 1;
        });
        return cl;
    }
}
