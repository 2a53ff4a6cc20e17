namespace Podvisor.Operator.Launcher;

/// <summary>
/// What the operator needs to talk to a VMI's launchers, from the VMI's control Secret: the bearer token they demand,
/// and the CA (PEM) their certificate must chain to — checked before the token is sent.
/// </summary>
public sealed record LauncherCredentials(string Token, string CaCertificatePem)
{
    // The token never appears in logs or exception messages.
    public override string ToString() => "LauncherCredentials { … }";
}
