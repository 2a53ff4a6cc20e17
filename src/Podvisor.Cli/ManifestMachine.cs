using Podvisor.Api;
using Podvisor.Domain;
using MachineConfig = Podvisor.Vmm.Machine.MachineConfig;

namespace Podvisor.Cli;

/// <summary>
/// Turns a VirtualMachine (or VirtualMachineInstance) manifest into a machine configuration for a local
/// run: defaults applied, the API's validation, then what a local run cannot do yet is refused by field.
/// The run strategy is not applied: <c>podvisor run</c> runs the template once.
/// </summary>
internal static class ManifestMachine
{
    /// <summary>Reads the manifest; <c>Scratch</c> lists the emptyDisk files made for this run, which the
    /// caller deletes when the VM ends (an emptyDisk lives as long as the VM instance).</summary>
    public static (string Name, MachineConfig Config, IReadOnlyList<string> Scratch) Load(string path)
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
        var config = DomainMachine.Configure(domain, Path.GetFullPath(boot.HostPath!.KernelPath!, folder),
            boot.HostPath.InitrdPath is { } initrd ? Path.GetFullPath(initrd, folder) : null);
        var scratch = new List<string>();
        try
        {
            config = config with { Disks = [.. (domain.Devices?.Disks ?? []).Select(disk => DiskOf(disk, spec.Volumes!.Single(v => v.Name == disk.Name), folder, scratch))] };
        }
        catch
        {
            DeleteScratch(scratch);
            throw;
        }
        return (name, config, scratch);
    }

    /// <summary>
    /// The image behind a disk: a hostDisk's file (DiskOrCreate makes a sparse one of its capacity if it is
    /// missing, and keeps it, as KubeVirt does), or for an emptyDisk a fresh sparse file in a temporary folder.
    /// </summary>
    private static Vmm.Machine.DiskConfig DiskOf(Disk disk, Volume volume, string folder, List<string> scratch)
    {
        if (volume.HostDisk is { } host)
        {
            string image = Path.GetFullPath(host.Path!, folder);
            if (host.Type == "DiskOrCreate" && !File.Exists(image))
                DomainMachine.CreateSparse(image, host.Capacity!);
            return DomainMachine.DiskOf(disk, image);
        }
        string empty = Path.Combine(Directory.CreateTempSubdirectory("podvisor-emptydisk-").FullName, $"{volume.Name}.img");
        scratch.Add(empty);
        DomainMachine.CreateSparse(empty, volume.EmptyDisk!.Capacity!);
        return DomainMachine.DiskOf(disk, empty);
    }

    /// <summary>Removes emptyDisk files and their folders.</summary>
    public static void DeleteScratch(IEnumerable<string> scratch)
    {
        foreach (string file in scratch)
        {
            try
            {
                Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Valid API the local VMM cannot provide yet; each one named, none silently dropped.</summary>
    private static List<FieldError> NotYetRunnable(VirtualMachineInstanceSpec spec, string at)
    {
        var problems = new List<FieldError>();
        var domain = spec.Domain!;
        if (domain.Firmware?.KernelBoot?.Container is not null)
            problems.Add(new($"{at}.domain.firmware.kernelBoot.container", "podvisor run does not pull images; use kernelBoot.hostPath with local files"));
        var volumes = (spec.Volumes ?? []).ToDictionary(v => v.Name);
        for (int i = 0; i < (spec.Volumes ?? []).Count; i++)
        {
            var volume = spec.Volumes![i];
            string kind = volume.ContainerDisk is not null ? "containerDisk" : volume.PersistentVolumeClaim is not null ? "persistentVolumeClaim"
                : volume.CloudInitNoCloud is not null ? "cloudInitNoCloud" : "";
            if (kind.Length > 0)
                problems.Add(new($"{at}.volumes[{i}].{kind}", "needs a cluster (the launcher pod prepares it); podvisor run takes hostDisk and emptyDisk volumes"));
        }
        problems.AddRange(DomainMachine.Unsupported(domain, $"{at}.domain"));
        if (spec.Networks is { Count: > 0 } || domain.Devices?.Interfaces is { Count: > 0 })
            problems.Add(new($"{at}.networks", "network interfaces need a cluster (the launcher pod binds them to the pod network); for a local run use podvisor run --kernel … --net tap=NAME"));
        if (domain.Devices?.AutoattachVsock == true)
            problems.Add(new($"{at}.domain.devices.autoattachVSOCK", "the cluster assigns vsock CIDs; for a local run use podvisor run --kernel … --vsock PATH"));
        return problems;
    }
}
