using System.Text.RegularExpressions;

namespace Podvisor.Api;

/// <summary>
/// Semantic checks the schema cannot express (cross-references, exactly-one-of, quantities), in one place
/// for the operator and the CLI. Every error names its field by the path kubectl would show.
/// </summary>
public static partial class ApiValidation
{
    private const ulong MinimumGuestMemory = 16 * Quantities.MiB;

    /// <summary>The launcher pod names its own volumes so; a VMI's volume names become pod volume names too.</summary>
    public const string ReservedVolumePrefix = "podvisor-";

    public static IReadOnlyList<FieldError> Validate(VirtualMachine vm)
    {
        var errors = new List<FieldError>();
        var spec = vm.Spec;
        if (spec.RunStrategy is not null && spec.Running is not null)
            errors.Add(new("spec.running", "running and runStrategy are mutually exclusive; use runStrategy"));
        if (spec.RunStrategy is { } strategy && !RunStrategies.All.Contains(strategy))
            errors.Add(new("spec.runStrategy", $"\"{strategy}\" is not one of {string.Join(", ", RunStrategies.All)}"));
        if (spec.Template?.Spec is not { } instance)
            errors.Add(new("spec.template.spec", "required: the instance to run"));
        else
            ValidateInstance(instance, "spec.template.spec", errors);
        return errors;
    }

    public static IReadOnlyList<FieldError> Validate(VirtualMachineInstance vmi)
    {
        var errors = new List<FieldError>();
        ValidateInstance(vmi.Spec, "spec", errors);
        return errors;
    }

    public static void ValidateInstance(VirtualMachineInstanceSpec spec, string at, List<FieldError> errors)
    {
        if (spec.Domain is not { } domain)
        {
            errors.Add(new($"{at}.domain", "required"));
            return;
        }
        ValidateCpu(domain, $"{at}.domain.cpu", errors);
        ValidateMemory(domain, $"{at}.domain", errors);
        ValidateFirmware(domain.Firmware, $"{at}.domain.firmware", errors);
        var volumes = ValidateVolumes(spec.Volumes ?? [], $"{at}.volumes", errors);
        ValidateDisks(domain.Devices?.Disks ?? [], volumes, $"{at}.domain.devices.disks", errors);
        var networks = ValidateNetworks(spec.Networks ?? [], $"{at}.networks", errors);
        ValidateInterfaces(domain.Devices?.Interfaces ?? [], networks, $"{at}.domain.devices.interfaces", errors);
        if (spec.EvictionStrategy is { } eviction && !EvictionStrategies.All.Contains(eviction))
            errors.Add(new($"{at}.evictionStrategy", $"\"{eviction}\" is not one of {string.Join(", ", EvictionStrategies.All)}"));
        if (spec.TerminationGracePeriodSeconds < 0)
            errors.Add(new($"{at}.terminationGracePeriodSeconds", "must not be negative"));
    }

    private static void ValidateCpu(DomainSpec domain, string at, List<FieldError> errors)
    {
        var cpu = domain.Cpu;
        bool countsValid = true;
        foreach (var (name, value) in new[] { ("sockets", cpu?.Sockets), ("cores", cpu?.Cores), ("threads", cpu?.Threads) })
        {
            if (value is < 1)
            {
                errors.Add(new($"{at}.{name}", $"must be at least 1, got {value}"));
                countsValid = false;
            }
        }
        if (countsValid && (long)(cpu?.Sockets ?? 1) * (cpu?.Cores ?? 1) * (cpu?.Threads ?? 1) > DomainResources.MaxVcpus)
            errors.Add(new(at, $"sockets × cores × threads must be at most {DomainResources.MaxVcpus} vCPUs"));
        if (cpu?.Model is { } model && model is not ("host-passthrough" or "host-model"))
            errors.Add(new($"{at}.model", $"\"{model}\" is not offered: use host-passthrough (what KVM supports)"));
    }

    private static void ValidateMemory(DomainSpec domain, string at, List<FieldError> errors)
    {
        string field = domain.Memory?.Guest is not null ? $"{at}.memory.guest" : $"{at}.resources.requests.memory";
        if (domain.GuestMemoryQuantity() is not { } quantity)
        {
            errors.Add(new($"{at}.memory.guest", "required (or resources.requests.memory): how much RAM the guest gets"));
        }
        else if (!Quantities.TryParseBytes(quantity, out ulong bytes))
        {
            errors.Add(new(field, $"\"{quantity}\" is not a quantity of bytes (e.g. 256Mi, 2Gi)"));
        }
        else if (bytes < MinimumGuestMemory)
        {
            errors.Add(new(field, $"must be at least 16Mi, got {quantity}"));
        }
        else if (bytes % Quantities.MiB != 0)
        {
            errors.Add(new(field, $"must be a whole number of MiB, got {quantity}"));
        }
        if (domain.Memory?.Hugepages?.PageSize is { } pageSize && pageSize is not ("2Mi" or "1Gi"))
            errors.Add(new($"{at}.memory.hugepages.pageSize", $"\"{pageSize}\" is not 2Mi or 1Gi"));
    }

    private static void ValidateFirmware(Firmware? firmware, string at, List<FieldError> errors)
    {
        if (firmware?.KernelBoot is not { } boot)
        {
            errors.Add(new($"{at}.kernelBoot", "required: Podvisor boots a Linux kernel directly (there is no BIOS or UEFI firmware)"));
            return;
        }
        at += ".kernelBoot";
        if ((boot.Container is null) == (boot.HostPath is null))
            errors.Add(new(at, "give exactly one of container (kernel in an image) or hostPath (kernel in a file on the node)"));
        if (boot.Container is { } container)
        {
            if (string.IsNullOrWhiteSpace(container.Image)) errors.Add(new($"{at}.container.image", "required"));
            if (string.IsNullOrWhiteSpace(container.KernelPath)) errors.Add(new($"{at}.container.kernelPath", "required"));
        }
        if (boot.HostPath is { } hostPath && string.IsNullOrWhiteSpace(hostPath.KernelPath))
            errors.Add(new($"{at}.hostPath.kernelPath", "required"));
        if (boot.KernelArgs is { } args && args.Any(c => c < 0x20 || c > 0x7e))
            errors.Add(new($"{at}.kernelArgs", "must be printable ASCII on one line"));
    }

    private static HashSet<string> ValidateVolumes(List<Volume> volumes, string at, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < volumes.Count; i++)
        {
            var volume = volumes[i];
            string here = $"{at}[{i}]";
            CheckName(volume.Name, here, names, "volume", errors);
            if (volume.Name.StartsWith(ReservedVolumePrefix, StringComparison.Ordinal))
                errors.Add(new($"{here}.name", $"names starting with \"{ReservedVolumePrefix}\" are reserved for the launcher pod's own volumes"));
            if (volume.SourceCount != 1)
                errors.Add(new(here, $"give exactly one source (containerDisk, persistentVolumeClaim, emptyDisk, hostDisk, cloudInitNoCloud); {volume.SourceCount} given"));
            if (volume.ContainerDisk is { } cd && string.IsNullOrWhiteSpace(cd.Image))
                errors.Add(new($"{here}.containerDisk.image", "required"));
            if (volume.PersistentVolumeClaim is { } pvc && string.IsNullOrWhiteSpace(pvc.ClaimName))
                errors.Add(new($"{here}.persistentVolumeClaim.claimName", "required"));
            if (volume.EmptyDisk is { } empty && !Quantities.TryParseBytes(empty.Capacity, out _))
                errors.Add(new($"{here}.emptyDisk.capacity", "required: a quantity of bytes (e.g. 1Gi)"));
            if (volume.HostDisk is { } host)
            {
                if (string.IsNullOrWhiteSpace(host.Path)) errors.Add(new($"{here}.hostDisk.path", "required"));
                if (host.Type is not ("Disk" or "DiskOrCreate")) errors.Add(new($"{here}.hostDisk.type", "must be Disk or DiskOrCreate"));
                if (host.Type == "DiskOrCreate" && !Quantities.TryParseBytes(host.Capacity, out _))
                    errors.Add(new($"{here}.hostDisk.capacity", "required with DiskOrCreate: a quantity of bytes"));
            }
            if (volume.CloudInitNoCloud is { } cloudInit)
            {
                if ((cloudInit.UserData is null) == (cloudInit.UserDataBase64 is null))
                    errors.Add(new($"{here}.cloudInitNoCloud", "give exactly one of userData or userDataBase64"));
                if (cloudInit.UserDataBase64 is { } b64 && !IsBase64(b64))
                    errors.Add(new($"{here}.cloudInitNoCloud.userDataBase64", "is not valid base64"));
            }
        }
        return names;
    }

    private static void ValidateDisks(List<Disk> disks, HashSet<string> volumes, string at, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < disks.Count; i++)
        {
            string here = $"{at}[{i}]";
            CheckName(disks[i].Name, here, names, "disk", errors);
            if (disks[i].Name.Length > 0 && !volumes.Contains(disks[i].Name))
                errors.Add(new($"{here}.name", $"no volume is named \"{disks[i].Name}\""));
            if (disks[i].DiskTarget?.Bus is { } bus && bus != "virtio")
                errors.Add(new($"{here}.disk.bus", $"\"{bus}\" is not offered: use virtio"));
            if (disks[i].Cache is { } cache && cache is not ("none" or "writethrough" or "writeback"))
                errors.Add(new($"{here}.cache", "must be none, writethrough or writeback"));
            if (disks[i].Io is { } io && io is not ("native" or "threads" or "default"))
                errors.Add(new($"{here}.io", "must be native, threads or default"));
        }
    }

    private static HashSet<string> ValidateNetworks(List<Network> networks, string at, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < networks.Count; i++)
        {
            string here = $"{at}[{i}]";
            CheckName(networks[i].Name, here, names, "network", errors);
            if (networks[i].Pod is null) errors.Add(new($"{here}.pod", "required (the pod network is the only network type)"));
            else if (networks.Take(i).Any(n => n.Pod is not null))
                errors.Add(new($"{here}.pod", "only one network can be the pod network (as in KubeVirt)"));
            else if (networks[i].Pod!.VmNetworkCidr is { } cidr && !PodNetwork.TryParseVmSubnet(cidr, out _, out _))
                errors.Add(new($"{here}.pod.vmNetworkCIDR", $"\"{cidr}\" is not an IPv4 subnet with room for a gateway and a guest (prefix at most /30), like {PodNetwork.DefaultVmNetworkCidr}"));
        }
        return names;
    }

    private static void ValidateInterfaces(List<Interface> interfaces, HashSet<string> networks, string at, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < interfaces.Count; i++)
        {
            var nic = interfaces[i];
            string here = $"{at}[{i}]";
            CheckName(nic.Name, here, names, "interface", errors);
            if (nic.Name.Length > 0 && !networks.Contains(nic.Name))
                errors.Add(new($"{here}.name", $"no network is named \"{nic.Name}\""));
            if ((nic.Masquerade is null) == (nic.Bridge is null))
                errors.Add(new(here, "give exactly one binding: masquerade or bridge"));
            else if (nic.Bridge is not null)
                errors.Add(new($"{here}.bridge", "the bridge binding is not offered yet: use masquerade: {}"));
            if (nic.Model is { } model && model != "virtio")
                errors.Add(new($"{here}.model", $"\"{model}\" is not offered: use virtio"));
            if (nic.MacAddress is { } mac && !MacAddress().IsMatch(mac))
                errors.Add(new($"{here}.macAddress", $"\"{mac}\" is not a MAC address like 02:00:00:00:00:01"));
        }
    }

    private static void CheckName(string name, string at, HashSet<string> seen, string what, List<FieldError> errors)
    {
        if (!DnsLabel().IsMatch(name))
            errors.Add(new($"{at}.name", $"\"{name}\" is not a valid {what} name (lower-case letters, digits and '-', at most 63)"));
        else if (!seen.Add(name))
            errors.Add(new($"{at}.name", $"another {what} is already named \"{name}\""));
    }

    private static bool IsBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _);
    }

    [GeneratedRegex(ApiPatterns.DnsLabel)]
    private static partial Regex DnsLabel();

    [GeneratedRegex(ApiPatterns.MacAddress)]
    private static partial Regex MacAddress();
}
