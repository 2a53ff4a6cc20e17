namespace Podvisor.Vmm.Devices.Serial;

/// <summary>A <see cref="Uart8250"/>'s registers and the input the guest has not read yet.</summary>
public sealed record UartState(byte Ier, byte Lcr, byte Mcr, byte Scr, byte Dll, byte Dlm, byte Fcr, bool ThrEmptyPending, byte[] Input);
