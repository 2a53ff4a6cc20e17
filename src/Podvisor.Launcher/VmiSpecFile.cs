using System.Text.Json;
using Podvisor.Api;

namespace Podvisor.Launcher;

/// <summary>Reads the VMI the operator hands the pod (docs/launcher-pod.md): defaults applied, validated.</summary>
public static class VmiSpecFile
{
    public static VirtualMachineInstance Read(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LauncherException($"cannot read the VMI spec {path}: {e.Message}");
        }
        VirtualMachineInstance? vmi;
        try
        {
            vmi = JsonSerializer.Deserialize(json, ApiJsonContext.Default.VirtualMachineInstance);
        }
        catch (JsonException e)
        {
            throw new LauncherException($"the VMI spec {path} is not a VirtualMachineInstance: {e.Message}");
        }
        if (vmi is null) throw new LauncherException($"the VMI spec {path} is empty");
        ApiDefaults.Apply(vmi);
        var errors = ApiValidation.Validate(vmi);
        if (errors.Count > 0)
            throw new LauncherException($"the VMI spec {path} is invalid:\n  " + string.Join("\n  ", errors.Select(e => e.ToString())));
        return vmi;
    }
}
