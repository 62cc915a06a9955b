/** Bench internals: native peers (C, OpenBLAS) through FFM and the Java yardstick kernels. */
package dev.flyer.bench.internal;
