namespace Podvisor.Api.Control;

/// <summary>
/// A VMI's control-API credentials, made with its control Secret before its first launcher pod: the launcher serves
/// the certificate, the operator accepts only a launcher chained to this VMI's CA — so the bearer token and a
/// migration's credentials go to that VMI's launcher and to nobody else answering at its pod IP. Valid as long as a VM
/// may reasonably run (ten years); rotating them is not done yet.
/// </summary>
public static class ControlCertificates
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(3650);

    /// <param name="vmi">The VMI (namespace/name).</param>
    /// <param name="now">The clock (tests).</param>
    public static TlsMaterial Create(string vmi, DateTimeOffset? now = null) =>
        PrivateCa.Issue($"launcher control {vmi}", Lifetime, [PrivateCa.ServerAuth], now);
}
