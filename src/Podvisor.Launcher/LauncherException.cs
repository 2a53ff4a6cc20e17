namespace Podvisor.Launcher;

/// <summary>The VMI cannot be run as given (bad spec, missing volume): the message says what and where.</summary>
public sealed class LauncherException(string message) : Exception(message);
