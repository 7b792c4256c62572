package org.redhare.text.tools;

/**
 * One function call the model asked for.
 *
 * @param name      the function's name as the model wrote it
 * @param arguments the arguments as compact JSON text (an object), as OpenAI's {@code function.arguments} carries them
 */
public record ToolCall(String name, String arguments) {
}
