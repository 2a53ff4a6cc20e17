namespace Podvisor.Vmm.Devices.Legacy;

/// <summary>
/// An <see cref="I8042"/>'s status, configuration and output port, a command awaiting its data byte, an unread output
/// byte and the keyboard's answers queued behind it, a keyboard command awaiting its parameter, and the scancode set.
/// </summary>
public sealed record I8042State(byte Status, byte Ctr, byte OutputPort, byte PendingCommand, byte? Output,
    byte[] Queue, byte KeyboardCommand, byte ScancodeSet);
