package dev.flyer.fs.kv;

class MemKvEngineTest extends KvEngineContract {
    @Override
    protected KvEngine open(long windowNs) {
        return new MemKvEngine(windowNs);
    }
}
