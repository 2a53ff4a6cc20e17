namespace Podvisor.Vmm.Devices.Legacy;

/// <summary>A <see cref="CmosRtc"/>'s selected index and its 128 bytes of RAM.</summary>
public sealed record CmosState(byte Index, byte[] Ram);
