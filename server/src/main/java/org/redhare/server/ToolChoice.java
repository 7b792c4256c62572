package org.redhare.server;

/**
 * The request's {@code tool_choice}: {@code auto} (the model decides; the default), {@code none} (no tools: they are
 * left out of the prompt and the reply is not parsed), {@code required} (some call) or one named function. The last two
 * are enforced by ending the prompt with the start of a call in the model's own format, which the reply continues.
 *
 * @param function the forced function's name when {@code mode} is FUNCTION, else null
 */
record ToolChoice(Mode mode, String function) {
    enum Mode { AUTO, NONE, REQUIRED, FUNCTION }

    static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    /** Whether the reply must begin with a call (prefilled into the prompt). */
    boolean forces() {
        return mode == Mode.REQUIRED || mode == Mode.FUNCTION;
    }
}
