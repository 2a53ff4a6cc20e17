namespace Podvisor.Vmm.Devices.Legacy;

/// <summary>
/// The i8042 keyboard controller with a keyboard on its first port and no mouse port: data port at offset 0
/// (0x60), status/command at offset 4 (0x64), the output buffer's interrupt on IRQ 1. Linux probes it, finds a
/// keyboard and no AUX port at once, and resets the machine through it (<c>reboot=k</c>: 0xFE to the command
/// port, reported through <paramref name="onReset"/>).
/// </summary>
/// <remarks>
/// Every command gets its answer without waiting: a controller that leaves a command unanswered costs a Linux
/// guest its driver's timeouts (a 250 ms wait for a mouse-port interrupt at boot, 500 ms per keyboard command,
/// one of them at every power-off). Answers wait in a short queue behind the one-byte output buffer, and the
/// interrupt line is high while the buffer is full and the command byte enables the keyboard interrupt.
/// </remarks>
public sealed class I8042(IInterruptLevel interrupt, Action onReset) : IPortIoDevice
{
    private const byte StatusOutputFull = 0x01, StatusSystem = 0x04, StatusCommand = 0x08, StatusKeyboardEnabled = 0x10;
    private const byte CtrKeyboardInterrupt = 0x01, CtrKeyboardDisabled = 0x10, CtrAuxDisabled = 0x20, CtrTranslate = 0x40;
    private const byte CmdReadCtr = 0x20, CmdWriteCtr = 0x60, CmdAuxDisable = 0xa7, CmdAuxEnable = 0xa8, CmdAuxTest = 0xa9,
        CmdSelfTest = 0xaa, CmdKeyboardTest = 0xab, CmdKeyboardDisable = 0xad, CmdKeyboardEnable = 0xae,
        CmdReadOutputPort = 0xd0, CmdWriteOutputPort = 0xd1, CmdWriteKeyboardBuffer = 0xd2, CmdWriteAuxBuffer = 0xd3,
        CmdWriteAux = 0xd4, CmdResetCpu = 0xfe;
    private const byte KbdSetLeds = 0xed, KbdEcho = 0xee, KbdScancodeSet = 0xf0, KbdGetId = 0xf2, KbdTypematic = 0xf3,
        KbdReset = 0xff;
    private const byte KbdAck = 0xfa, KbdResend = 0xfe, KbdSelfTestPassed = 0xaa, KbdId = 0xab;
    /// <summary>The AUX interface test's answer: clock line stuck low — there is no mouse port.</summary>
    private const byte AuxClockStuckLow = 0x01;
    /// <summary>Longest keyboard answer (reset, get ID) is three bytes; a guest that never reads gets no more.</summary>
    private const int QueueLimit = 16;

    private readonly Lock _lock = new();
    private byte _status = StatusSystem | StatusKeyboardEnabled;
    private byte _ctr = 0x45;            // keyboard interrupt on, system flag, translation
    private byte _outputPort = 0x01;     // the reset line not asserted
    private byte _pendingCommand;        // a controller command waiting for its data byte
    private byte? _output;               // the output buffer
    private readonly Queue<byte> _queue = new();
    private byte _keyboardCommand;       // a keyboard command waiting for its parameter
    private byte _scancodeSet = 2;

    public int ResetRequests { get; private set; }

    /// <summary>The controller's and the keyboard's state, for live migration.</summary>
    public I8042State SaveState()
    {
        lock (_lock) return new I8042State(_status, _ctr, _outputPort, _pendingCommand, _output, [.. _queue], _keyboardCommand, _scancodeSet);
    }

    public void RestoreState(I8042State state)
    {
        lock (_lock)
        {
            (_status, _ctr, _outputPort, _pendingCommand, _output, _keyboardCommand, _scancodeSet) =
                (state.Status, state.Ctr, state.OutputPort, state.PendingCommand, state.Output, state.KeyboardCommand, state.ScancodeSet);
            _queue.Clear();
            foreach (byte b in state.Queue.Take(QueueLimit)) _queue.Enqueue(b);
            UpdateInterrupt();
        }
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
                    UpdateInterrupt();
                    // The line drops before the next byte raises it again: an edge-triggered pin sees each byte.
                    if (_queue.TryDequeue(out byte next))
                    {
                        Fill(next);
                        UpdateInterrupt();
                    }
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
            UpdateInterrupt();
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
            case CmdReadCtr: Answer(_ctr); break;
            case CmdWriteCtr or CmdWriteOutputPort or CmdWriteKeyboardBuffer or CmdWriteAuxBuffer or CmdWriteAux:
                _pendingCommand = command;
                break;
            case CmdAuxDisable: _ctr |= CtrAuxDisabled; break;
            case CmdAuxEnable: _ctr &= unchecked((byte)~CtrAuxDisabled); break;
            case CmdAuxTest: Answer(AuxClockStuckLow); break;
            case CmdSelfTest: Answer(0x55); break;
            case CmdKeyboardTest: Answer(0x00); break;
            case CmdKeyboardDisable: _ctr |= CtrKeyboardDisabled; break;
            case CmdKeyboardEnable: _ctr &= unchecked((byte)~CtrKeyboardDisabled); break;
            case CmdReadOutputPort: Answer(_outputPort); break;
            case CmdResetCpu: return true;
        }
        return false;
    }

    private void DataWrite(byte value)
    {
        _status &= unchecked((byte)~StatusCommand);
        byte command = _pendingCommand;
        _pendingCommand = 0;
        switch (command)
        {
            case CmdWriteCtr: _ctr = value; break;
            case CmdWriteOutputPort: _outputPort = value; break;
            // With no mouse port the AUX loopback comes back as keyboard data (no AUX bit in the status): Linux's
            // loopback check fails at once instead of waiting for a mouse interrupt.
            case CmdWriteKeyboardBuffer or CmdWriteAuxBuffer: Answer(value); break;
            case CmdWriteAux: break;     // nothing is attached there
            default: Keyboard(value); break;
        }
    }

    /// <summary>A byte for the keyboard: a command or the parameter of the one before.</summary>
    private void Keyboard(byte value)
    {
        _ctr &= unchecked((byte)~CtrKeyboardDisabled);    // talking to the keyboard enables its port again
        if (_keyboardCommand != 0)
        {
            byte command = _keyboardCommand;
            _keyboardCommand = 0;
            if (command != KbdScancodeSet) { FromKeyboard(KbdAck); return; }
            if (value == 0)
            {
                FromKeyboard(KbdAck);
                FromKeyboard((_ctr & CtrTranslate) != 0 ? TranslatedSet(_scancodeSet) : _scancodeSet);
            }
            else if (value is >= 1 and <= 3)
            {
                _scancodeSet = value;
                FromKeyboard(KbdAck);
            }
            else FromKeyboard(KbdResend);
            return;
        }
        switch (value)
        {
            case KbdSetLeds or KbdTypematic or KbdScancodeSet:
                _keyboardCommand = value;
                FromKeyboard(KbdAck);
                break;
            case KbdEcho: FromKeyboard(KbdEcho); break;
            case KbdGetId:
                FromKeyboard(KbdAck);
                FromKeyboard(KbdId);
                FromKeyboard((_ctr & CtrTranslate) != 0 ? (byte)0x41 : (byte)0x83);    // MF2, as the controller translates it
                break;
            case KbdReset:
                _scancodeSet = 2;
                FromKeyboard(KbdAck);
                FromKeyboard(KbdSelfTestPassed);
                break;
            case >= 0xf4 and <= 0xfe: FromKeyboard(KbdAck); break;     // enable, disable, defaults, typematic modes, resend
            default: FromKeyboard(KbdResend); break;
        }
    }

    /// <summary>Scancode sets 1–3 as they read through the controller's translation.</summary>
    private static byte TranslatedSet(byte set) => set switch { 1 => 0x43, 2 => 0x41, _ => 0x3f };

    /// <summary>A controller answer: the driver polls for it right after its command, so it takes the buffer.</summary>
    private void Answer(byte value) => Fill(value);

    /// <summary>A byte from the keyboard: into the buffer if it is free, else behind the bytes before it.</summary>
    private void FromKeyboard(byte value)
    {
        if (_output is null && _queue.Count == 0) Fill(value);
        else if (_queue.Count < QueueLimit) _queue.Enqueue(value);
    }

    private void Fill(byte value)
    {
        _output = value;
        _status |= StatusOutputFull;
    }

    private void UpdateInterrupt() => interrupt.Set((_status & StatusOutputFull) != 0 && (_ctr & CtrKeyboardInterrupt) != 0);
}
