namespace Podvisor.Vmm.Boot;

/// <summary>The kernel, initrd or command line cannot be booted as given; the message says why.</summary>
public sealed class BootException(string message) : Exception(message);
