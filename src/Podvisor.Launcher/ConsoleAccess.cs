namespace Podvisor.Launcher;

/// <summary>The guest's serial console as the control API offers it: its output, and where typed input goes.</summary>
public sealed record ConsoleAccess(ConsoleFanout Output, Action<ReadOnlyMemory<byte>> Input);
