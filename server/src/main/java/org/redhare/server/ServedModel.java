package org.redhare.server;

import org.redhare.engine.Engine;

/** A loaded model behind the API: its engine (which owns it) and its text side. */
public record ServedModel(Engine engine, PromptFormatter formatter) {
    public int maxContext() {
        return engine.config().maxContext();
    }
}
