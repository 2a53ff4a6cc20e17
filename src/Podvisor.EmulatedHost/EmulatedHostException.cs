namespace Podvisor.EmulatedHost;

/// <summary>The emulated KVM host could not be prepared, booted or driven; the message says why.</summary>
public sealed class EmulatedHostException(string message) : Exception(message);
