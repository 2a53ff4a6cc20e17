namespace Podvisor.Vmm.Migration;

/// <summary>A migration could not go on; the message says why (what the source or target refused, what broke).</summary>
public sealed class MigrationException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// On the source: the VM had been handed over (it is stopped here and was told to run there) when the
    /// failure came, so it was not resumed — whether it runs on the target is for the target to say.
    /// </summary>
    public bool HandedOver { get; init; }
}
