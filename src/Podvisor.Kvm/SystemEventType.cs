namespace Podvisor.Kvm;

/// <summary>KVM_SYSTEM_EVENT_* types.</summary>
public enum SystemEventType : uint
{
    Shutdown = 1,
    Reset = 2,
    Crash = 3,
    Wakeup = 4,
    Suspend = 5,
    SevTerm = 6,
}
