namespace Podvisor.Operator.Launcher;

/// <summary>A launcher's control API did not answer (pod not up yet, gone, or the network between).</summary>
public sealed class LauncherUnreachableException(string message, Exception? inner = null) : Exception(message, inner);
