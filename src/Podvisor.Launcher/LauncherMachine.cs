using Podvisor.Api;
using Podvisor.Domain;
using Podvisor.Launcher.Network;
using Podvisor.Vmm.Machine;

namespace Podvisor.Launcher;

/// <summary>
/// Turns the pod's VMI into the machine to run, preparing its volumes as docs/launcher-pod.md lays them out:
/// a PVC is the claim's <c>disk.img</c> (filesystem mode) or the device node (block mode); an emptyDisk is a
/// sparse <c>disk.img</c> of its capacity, made on first start and kept while the pod lives; a hostDisk is its
/// file in the mounted folder (DiskOrCreate makes it); a containerDisk is the <c>disk.img</c> its init
/// container copied out; a cloudInitNoCloud volume is a read-only NoCloud seed the launcher writes; a pod network with masquerade is a
/// virtio NIC on the TAP <see cref="MasqueradePlan"/> names (the process sets the TAP up). What the launcher cannot provide yet is refused by field, never silently dropped.
/// </summary>
public static class LauncherMachine
{
    /// <summary>The guest's vsock CID: the host end is a Unix socket of this launcher, so no CID is shared across VMs.</summary>
    public const ulong GuestCid = 3;

    public static MachineConfig Prepare(VirtualMachineInstance vmi, LauncherLayout layout)
    {
        var spec = vmi.Spec;
        var domain = spec.Domain!;
        var problems = new List<string>();
        if (domain.Firmware?.KernelBoot is not { } kernelBoot)
            throw new LauncherException("spec.domain.firmware.kernelBoot: Podvisor boots guests by direct kernel boot; give kernelBoot (firmware boot is not offered)");
        string? initrd = (kernelBoot.HostPath?.InitrdPath ?? kernelBoot.Container?.InitrdPath) is null ? null : layout.InitrdFile;
        foreach (string file in new[] { layout.KernelFile, initrd }.OfType<string>())
            if (!File.Exists(file)) problems.Add($"spec.domain.firmware.kernelBoot: {file} is missing (the pod mounts or copies it there)");

        problems.AddRange(MasqueradePlan.Problems(vmi));
        var volumes = (spec.Volumes ?? []).ToDictionary(v => v.Name);
        problems.AddRange(DomainMachine.Unsupported(domain, "spec.domain").Select(e => e.ToString()));
        var disks = domain.Devices?.Disks ?? [];
        if (problems.Count > 0) throw new LauncherException("the VMI asks for what this launcher cannot provide:\n  " + string.Join("\n  ", problems));

        var network = MasqueradePlan.For(vmi);
        var config = DomainMachine.Configure(domain, layout.KernelFile, initrd);
        var prepared = new List<DiskConfig>();
        foreach (var disk in disks)
            prepared.Add(volumes[disk.Name].CloudInitNoCloud is { } seed
                ? DomainMachine.DiskOf(disk, CloudInitDisk(vmi, volumes[disk.Name], seed, layout)) with { ReadOnly = true }
                : DomainMachine.DiskOf(disk, DiskImage(volumes[disk.Name], layout)));
        config = config with { Disks = prepared };
        if (network is not null) config = config with { Networks = [new NetConfig(MasqueradePlan.TapName, network.VirtioMac)] };
        if (domain.Devices?.AutoattachVsock == true)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(layout.VsockSocket)!);
            config = config with { Vsock = new VsockConfig(GuestCid, layout.VsockSocket) };
        }
        return config;
    }

    /// <summary>Writes the NoCloud seed afresh on every start (same VMI, same content: cloud-init sees one instance).</summary>
    private static string CloudInitDisk(VirtualMachineInstance vmi, Volume volume, CloudInitNoCloudSource seed, LauncherLayout layout)
    {
        string folder = layout.VolumeDirectory(volume.Name);
        if (!Directory.Exists(folder)) throw new LauncherException($"volume {volume.Name}: its folder {folder} is missing (the pod mounts an emptyDir there)");
        string image = Path.Combine(folder, LauncherPaths.DiskImage);
        File.WriteAllBytes(image, CloudInit.NoCloudSeed.Build(vmi, seed));
        return image;
    }

    private static string DiskImage(Volume volume, LauncherLayout layout)
    {
        string folder = layout.VolumeDirectory(volume.Name);
        string image = Path.Combine(folder, LauncherPaths.DiskImage);
        string at = $"volume {volume.Name}";
        if (volume.PersistentVolumeClaim is { } claim)
        {
            string device = layout.BlockDevice(volume.Name);
            if (File.Exists(device)) return device;                  // the pod puts a device node there only for a block-mode claim
            if (File.Exists(image)) return image;
            throw new LauncherException($"{at}: claim {claim.ClaimName} holds no {LauncherPaths.DiskImage} at its root (KubeVirt's layout for a filesystem-mode PVC) " +
                $"and is not a block device at {device}; put the disk image in the claim as {LauncherPaths.DiskImage}");
        }
        if (volume.EmptyDisk is { } empty)
        {
            if (!Directory.Exists(folder)) throw new LauncherException($"{at}: its folder {folder} is missing (the pod mounts an emptyDir there)");
            if (!File.Exists(image)) DomainMachine.CreateSparse(image, empty.Capacity!);
            return image;
        }
        if (volume.HostDisk is { } host)
        {
            string file = Path.Combine(folder, Path.GetFileName(host.Path!));
            if (File.Exists(file)) return file;
            if (host.Type != "DiskOrCreate")
                throw new LauncherException($"{at}: hostDisk {host.Path} does not exist on the node (type Disk needs it; DiskOrCreate makes it)");
            if (!Directory.Exists(folder)) throw new LauncherException($"{at}: its folder {folder} is missing (the pod mounts the hostDisk's folder there)");
            DomainMachine.CreateSparse(file, host.Capacity!);
            return file;
        }
        if (volume.ContainerDisk is { } container)
        {
            if (File.Exists(image)) return image;
            throw new LauncherException($"{at}: no {LauncherPaths.DiskImage} copied out of image {container.Image} (its init container copies {container.Path ?? "/disk"} there)");
        }
        throw new LauncherException($"{at}: is not a disk volume (persistentVolumeClaim, emptyDisk, hostDisk or containerDisk)");
    }
}
