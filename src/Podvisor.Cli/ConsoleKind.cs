namespace Podvisor.Cli;

internal enum ConsoleKind
{
    Stdio,
    File,
    Socket,
}
