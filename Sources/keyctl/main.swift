import KeyCtlCore

#if canImport(Glibc)
    import Glibc
#else
    #error("keyctl is built and tested with Glibc only (see README, Portability)")
#endif

// A closed pipe or a file-size limit must be an error we report (and, for a new key,
// undo), not a silent death halfway through.
signal(SIGPIPE, SIG_IGN)
signal(SIGXFSZ, SIG_IGN)
exit(KeyCtl.run(KeyCtl.arguments(CommandLine.argc, CommandLine.unsafeArgv), context: .process()))
