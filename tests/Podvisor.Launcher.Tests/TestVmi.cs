using System.Text.Json;
using Podvisor.Api;

namespace Podvisor.Launcher.Tests;

/// <summary>VMIs as the operator hands them to the pod (JSON), and a scratch launcher root with the kernel in place.</summary>
internal sealed class TestVmi : IDisposable
{
    public TestVmi()
    {
        Root = Directory.CreateTempSubdirectory("podvisor-launcher-").FullName;
        Layout = new LauncherLayout(Root);
        Directory.CreateDirectory(Path.GetDirectoryName(Layout.KernelFile)!);
        File.WriteAllText(Layout.KernelFile, "kernel");
        File.WriteAllText(Layout.InitrdFile, "initrd");
    }

    public string Root { get; }

    public LauncherLayout Layout { get; }

    /// <summary>A VMI with the given domain devices and volumes (JSON fragments).</summary>
    public static string Json(string devices = "{}", string volumes = "[]", string extraSpec = "") => $$"""
        {
          "apiVersion": "podvisor.io/v1alpha1", "kind": "VirtualMachineInstance",
          "metadata": { "name": "vm1", "namespace": "default", "uid": "0b7c6a56-3f55-4c1e-9a55-000000000001" },
          "spec": {
            "domain": {
              "cpu": { "cores": 2 }, "memory": { "guest": "128Mi" },
              "firmware": { "kernelBoot": { "kernelArgs": "console=ttyS0", "hostPath": { "kernelPath": "/boot/vmlinuz", "initrdPath": "/boot/initrd" } } },
              "devices": {{devices}}
            },
            "volumes": {{volumes}}{{extraSpec}}
          }
        }
        """;

    public static VirtualMachineInstance Parse(string json)
    {
        var vmi = ParseUnchecked(json);
        Assert.Empty(ApiValidation.Validate(vmi));
        return vmi;
    }

    /// <summary>A VMI the API would refuse: what a launcher does if one reaches it anyway.</summary>
    public static VirtualMachineInstance ParseUnchecked(string json)
    {
        var vmi = JsonSerializer.Deserialize(json, ApiJsonContext.Default.VirtualMachineInstance)!;
        ApiDefaults.Apply(vmi);
        return vmi;
    }

    public string VolumeFolder(string name) => Directory.CreateDirectory(Layout.VolumeDirectory(name)).FullName;

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
