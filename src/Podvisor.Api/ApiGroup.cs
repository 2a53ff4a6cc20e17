namespace Podvisor.Api;

/// <summary>The API group and version of Podvisor's resources.</summary>
public static class ApiGroup
{
    public const string Group = "podvisor.io";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;

    /// <summary>KubeVirt's group/version: its manifests work here once apiVersion says <see cref="ApiVersion"/>.</summary>
    public const string KubeVirtApiVersion = "kubevirt.io/v1";
}
