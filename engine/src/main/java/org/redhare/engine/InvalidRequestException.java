package org.redhare.engine;

/** A request the engine cannot run as given (bad parameter, prompt too long); the message says what to change. */
public class InvalidRequestException extends IllegalArgumentException {
    public InvalidRequestException(String message) {
        super(message);
    }
}
