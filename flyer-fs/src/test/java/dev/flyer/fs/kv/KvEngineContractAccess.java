package dev.flyer.fs.kv;

/** Lets engines in other packages run the package-private {@link KvEngineContract}. */
public abstract class KvEngineContractAccess extends KvEngineContract {}
