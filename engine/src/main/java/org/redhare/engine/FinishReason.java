package org.redhare.engine;

/** Why a generation ended. */
public enum FinishReason {
    /** A stop token (EOS, end of turn) or stop string. */
    STOP,
    /** max tokens reached. */
    LENGTH,
    /** The model's context is full. */
    CONTEXT_LENGTH,
    /** The caller cancelled it. */
    CANCELLED,
    /** The engine failed while running it; see the message. */
    ERROR
}
