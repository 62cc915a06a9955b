package dev.flyer.cli.internal;

import picocli.CommandLine;

/** A command that only groups subcommands: run without one, it prints its usage. */
abstract class CommandGroup implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
