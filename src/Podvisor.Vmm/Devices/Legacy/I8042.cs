namespace Podvisor.Vmm.Devices.Legacy;

/// <summary>
/// Just enough of the i8042 keyboard controller for Linux to probe it and to reset the machine through it
/// (<c>reboot=k</c> writes 0xFE to the command port): data port at offset 0 (0x60), status/command at
/// offset 4 (0x64). The reset request is reported through <paramref name="onReset"/>.
/// </summary>
public sealed class I8042(Action onReset) : IPortIoDevice
{
    private const byte StatusOutputFull = 0x01, StatusSystem = 0x04, StatusCommand = 0x08, StatusKeyboardEnabled = 0x10;
    private const byte CmdReadCtr = 0x20, CmdWriteCtr = 0x60, CmdSelfTest = 0xaa, CmdInterfaceTest = 0xab,
        CmdReadOutputPort = 0xd0, CmdWriteOutputPort = 0xd1, CmdResetCpu = 0xfe;

    private readonly Lock _lock = new();
    private byte _status = StatusSystem | StatusKeyboardEnabled;
    private byte _ctr = 0x45;            // keyboard interrupt on, system flag, translation
    private byte _outputPort = 0x01;     // A20... and the reset line not asserted
    private byte _pendingCommand;
    private byte? _output;

    public int ResetRequests { get; private set; }

    /// <summary>The controller's registers, for live migration.</summary>
    public I8042State SaveState()
    {
        lock (_lock) return new I8042State(_status, _ctr, _outputPort, _pendingCommand, _output);
    }

    public void RestoreState(I8042State state)
    {
        lock (_lock) (_status, _ctr, _outputPort, _pendingCommand, _output) = (state.Status, state.Ctr, state.OutputPort, state.PendingCommand, state.Output);
    }

    public void Read(ushort offset, Span<byte> data)
    {
        if (data.Length != 1) { data.Fill(0xff); return; }
        lock (_lock)
        {
            switch (offset)
            {
                case 0:
                    data[0] = _output ?? 0;
                    _output = null;
                    _status &= unchecked((byte)~StatusOutputFull);
                    break;
                case 4:
                    data[0] = _status;
                    break;
                default:
                    data[0] = 0xff;
                    break;
            }
        }
    }

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1) return;
        bool reset = false;
        lock (_lock)
        {
            if (offset == 4) reset = Command(data[0]);
            else if (offset == 0) DataWrite(data[0]);
        }
        if (reset)
        {
            ResetRequests++;
            onReset();
        }
    }

    private bool Command(byte command)
    {
        _status |= StatusCommand;
        switch (command)
        {
            case CmdReadCtr: Respond(_ctr); break;
            case CmdWriteCtr or CmdWriteOutputPort: _pendingCommand = command; break;
            case CmdSelfTest: Respond(0x55); break;
            case CmdInterfaceTest: Respond(0x00); break;
            case CmdReadOutputPort: Respond(_outputPort); break;
            case CmdResetCpu: return true;
        }
        return false;
    }

    private void DataWrite(byte value)
    {
        _status &= unchecked((byte)~StatusCommand);
        switch (_pendingCommand)
        {
            case CmdWriteCtr: _ctr = value; break;
            case CmdWriteOutputPort: _outputPort = value; break;
            default: Respond(0xfa); break;    // a byte for the keyboard: ACK it
        }
        _pendingCommand = 0;
    }

    private void Respond(byte value)
    {
        _output = value;
        _status |= StatusOutputFull;
    }
}
