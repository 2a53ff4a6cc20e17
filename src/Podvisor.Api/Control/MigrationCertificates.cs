namespace Podvisor.Api.Control;

/// <summary>
/// A migration's credentials: a CA of its own and one certificate for both ends (client and server use). Short-lived
/// (a day: a migration that outlives its completion timeout has failed anyway).
/// </summary>
public static class MigrationCertificates
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(1);

    /// <param name="name">The migration (namespace/name).</param>
    /// <param name="now">The clock (tests).</param>
    public static TlsMaterial Create(string name, DateTimeOffset? now = null) =>
        PrivateCa.Issue($"migration {name}", Lifetime, [PrivateCa.ServerAuth, PrivateCa.ClientAuth], now);
}
