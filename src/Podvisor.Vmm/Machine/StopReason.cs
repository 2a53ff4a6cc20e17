namespace Podvisor.Vmm.Machine;

/// <summary>Why a VM stopped.</summary>
public enum StopReason
{
    /// <summary>The guest powered off (ACPI S5 or a KVM shutdown system event).</summary>
    GuestPowerOff,
    /// <summary>The guest asked for a reset (i8042 0xFE, KVM reset event) and the policy is to exit.</summary>
    GuestReset,
    /// <summary>A vCPU triple-faulted.</summary>
    TripleFault,
    /// <summary>KVM could not run the guest (internal error, failed entry, unknown exit).</summary>
    Error,
    /// <summary>The host asked the VM to stop.</summary>
    HostRequest,
    /// <summary>The VM was live-migrated: it runs on the target now.</summary>
    Migrated,
}
