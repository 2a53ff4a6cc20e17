using Podvisor.Api;
using MachineConfig = Podvisor.Vmm.Machine.MachineConfig;

namespace Podvisor.Cli;

/// <summary>
/// Turns a VirtualMachine (or VirtualMachineInstance) manifest into a machine configuration for a local
/// run: defaults applied, the API's validation, then what a local run cannot do yet is refused by field.
/// The run strategy is not applied: <c>podvisor run</c> runs the template once.
/// </summary>
internal static class ManifestMachine
{
    public static (string Name, MachineConfig Config) Load(string path)
    {
        var documents = ManifestReader.ReadDocuments(ManifestReader.ReadText(path), path);
        var kinds = documents.Select(d => d.Kind).ToList();
        string name, at;
        VirtualMachineInstanceSpec spec;
        IReadOnlyList<FieldError> errors;
        if (kinds.Contains(VirtualMachine.KindName))
        {
            var vm = ManifestReader.ReadSingle<VirtualMachine>(documents, path);
            ApiDefaults.Apply(vm);
            (name, spec, at, errors) = (vm.Metadata.Name ?? "vm", vm.Spec.Template?.Spec ?? new(), "spec.template.spec", ApiValidation.Validate(vm));
        }
        else if (kinds.Contains(VirtualMachineInstance.KindName))
        {
            var vmi = ManifestReader.ReadSingle<VirtualMachineInstance>(documents, path);
            ApiDefaults.Apply(vmi);
            (name, spec, at, errors) = (vmi.Metadata.Name ?? "vmi", vmi.Spec, "spec", ApiValidation.Validate(vmi));
        }
        else
        {
            throw new ManifestException(path, [$"no VirtualMachine or VirtualMachineInstance in the manifest (found: {string.Join(", ", kinds.Select(k => k ?? "a document without kind"))})"]);
        }
        if (errors.Count > 0) throw new ManifestException(path, [.. errors.Select(e => e.ToString())]);

        var problems = NotYetRunnable(spec, at);
        if (problems.Count > 0) throw new ManifestException(path, [.. problems.Select(e => e.ToString())]);

        var domain = spec.Domain!;
        var boot = domain.Firmware!.KernelBoot!;
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var config = new MachineConfig
        {
            KernelPath = Path.GetFullPath(boot.HostPath!.KernelPath!, folder),
            InitrdPath = boot.HostPath.InitrdPath is { } initrd ? Path.GetFullPath(initrd, folder) : null,
            CommandLine = boot.KernelArgs ?? MachineConfig.DefaultCommandLine,
            Cpus = domain.Vcpus(),
            MemoryMiB = domain.GuestMemoryBytes() / Quantities.MiB,
            HugePageSizeMiB = domain.Memory?.Hugepages?.PageSize switch
            {
                "2Mi" => 2,
                "1Gi" => 1024,
                _ => null,
            },
        };
        return (name, config);
    }

    /// <summary>Valid API the local VMM cannot provide yet; each one named, none silently dropped.</summary>
    private static List<FieldError> NotYetRunnable(VirtualMachineInstanceSpec spec, string at)
    {
        var problems = new List<FieldError>();
        var domain = spec.Domain!;
        if (domain.Firmware?.KernelBoot?.Container is not null)
            problems.Add(new($"{at}.domain.firmware.kernelBoot.container", "podvisor run does not pull images; use kernelBoot.hostPath with local files"));
        if (spec.Volumes is { Count: > 0 } || domain.Devices?.Disks is { Count: > 0 })
            problems.Add(new($"{at}.volumes", "disks (virtio-blk) are not supported by this version yet"));
        if (spec.Networks is { Count: > 0 } || domain.Devices?.Interfaces is { Count: > 0 })
            problems.Add(new($"{at}.networks", "network interfaces (virtio-net) are not supported by this version yet"));
        if (domain.Devices?.Rng is not null)
            problems.Add(new($"{at}.domain.devices.rng", "virtio-rng is not supported by this version yet"));
        if (domain.Devices?.AutoattachVsock == true)
            problems.Add(new($"{at}.domain.devices.autoattachVSOCK", "virtio-vsock is not supported by this version yet"));
        return problems;
    }
}
