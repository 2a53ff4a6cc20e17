namespace Podvisor.Vmm.Devices.Legacy;

/// <summary>An <see cref="I8042"/>'s status, configuration and output port, a command awaiting its data byte, and an unread response.</summary>
public sealed record I8042State(byte Status, byte Ctr, byte OutputPort, byte PendingCommand, byte? Output);
