using System.Text;
using Podvisor.Api;

namespace Podvisor.Launcher.CloudInit;

/// <summary>
/// cloud-init's NoCloud seed for a VMI, as KubeVirt builds it: an ISO 9660 disk labelled <c>cidata</c> with
/// <c>meta-data</c> (instance-id = the VMI's uid, so cloud-init runs once per VMI, not per boot; local-hostname),
/// <c>user-data</c> and, when given, <c>network-config</c>.
/// </summary>
public static class NoCloudSeed
{
    public const string VolumeLabel = "cidata";

    public static byte[] Build(VirtualMachineInstance vmi, CloudInitNoCloudSource source)
    {
        string hostname = vmi.Spec.Hostname ?? vmi.Metadata.Name;
        string metaData = $"instance-id: {vmi.Metadata.Uid ?? vmi.Metadata.Name}\nlocal-hostname: {hostname}\n";
        byte[] userData = source.UserDataBase64 is { } encoded ? Convert.FromBase64String(encoded) : Encoding.UTF8.GetBytes(source.UserData ?? "");
        var files = new List<(string, byte[])> { ("meta-data", Encoding.UTF8.GetBytes(metaData)), ("user-data", userData) };
        if (source.NetworkData is { } network) files.Add(("network-config", Encoding.UTF8.GetBytes(network)));
        return Iso9660Image.Build(VolumeLabel, files);
    }
}
