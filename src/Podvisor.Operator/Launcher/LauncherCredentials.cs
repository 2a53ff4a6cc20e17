using k8s;
using Podvisor.Api;
using Podvisor.Api.Control;

namespace Podvisor.Operator.Launcher;

/// <summary>
/// What the operator needs to talk to a VMI's launchers, from the VMI's control Secret: the bearer token they demand,
/// and the CA (PEM) their certificate must chain to — checked before the token is sent.
/// </summary>
public sealed record LauncherCredentials(string Token, string CaCertificatePem)
{
    // The token never appears in logs or exception messages.
    public override string ToString() => "LauncherCredentials { … }";

    /// <summary>The credentials for <paramref name="vmi"/>'s launchers, from its control Secret.</summary>
    public static async Task<LauncherCredentials> ReadAsync(IKubernetes client, VirtualMachineInstance vmi, CancellationToken cancellationToken)
    {
        string name = LauncherLabels.ControlSecretName(vmi.Metadata.Uid);
        var secret = await client.CoreV1.ReadNamespacedSecretAsync(name, vmi.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
        if (secret.Data?.TryGetValue(LauncherPaths.ControlTokenKey, out byte[]? token) != true || token is null
            || TlsMaterial.FromSecretData(secret.Data) is not { } tls)
            throw new InvalidOperationException($"the control Secret {vmi.Metadata.NamespaceProperty}/{name} lacks the token or the launcher's CA");
        return new LauncherCredentials(System.Text.Encoding.ASCII.GetString(token).Trim(), tls.CaCertificatePem);
    }
}
