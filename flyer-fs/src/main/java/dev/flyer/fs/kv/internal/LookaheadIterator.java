package dev.flyer.fs.kv.internal;

import java.util.Iterator;
import java.util.NoSuchElementException;

/** An iterator defined by one method: {@link #advance()} returns the next element or null at the end. */
public abstract class LookaheadIterator<T> implements Iterator<T> {
    private T next;
    private boolean primed;

    /** The next element, or null when there is none. */
    protected abstract T advance();

    @Override
    public boolean hasNext() {
        if (!primed) {
            next = advance();
            primed = true;
        }
        return next != null;
    }

    @Override
    public T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        primed = false;
        return next;
    }
}
