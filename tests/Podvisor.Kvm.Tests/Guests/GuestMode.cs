namespace Podvisor.Kvm.Tests.Guests;

/// <summary>The x86 operating mode a hand-built test guest starts in.</summary>
public enum GuestMode
{
    Real = 16,
    Protected = 32,
    Long = 64,
}
