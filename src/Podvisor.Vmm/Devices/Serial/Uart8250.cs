using System.Collections.Concurrent;

namespace Podvisor.Vmm.Devices.Serial;

/// <summary>
/// A 16550A-compatible UART as a state machine: registers in, bytes out to a sink, an interrupt line.
/// Transmission is instant (THR is always empty), so the guest never waits on us; input comes from
/// <see cref="QueueInput"/> (stdin, a socket, a test). The interrupt line is a level, high while IIR has
/// something to report (received data with RDA enabled; THR empty, not yet acknowledged, with THRI enabled),
/// as the chip's INTR pin is: a pulse per event was lost whenever it came while the guest had the IOAPIC pin
/// masked, and Linux's driver then waited for a THR-empty interrupt forever (its console output stalled).
/// </summary>
public sealed class Uart8250 : IPortIoDevice
{
    private const byte IerRda = 0x01, IerThre = 0x02;
    private const byte IirNone = 0x01, IirThre = 0x02, IirRda = 0x04, IirFifoEnabled = 0xc0;
    private const byte LcrDlab = 0x80;
    private const byte LsrDataReady = 0x01, LsrThrEmpty = 0x20, LsrIdle = 0x40;
    private const byte McrLoop = 0x10;
    private const byte MsrCts = 0x10, MsrDsr = 0x20, MsrRi = 0x40, MsrDcd = 0x80;

    private readonly Action<byte> _output;
    private readonly IInterruptLevel _interrupt;
    private readonly ConcurrentQueue<byte> _input = new();
    private readonly Lock _lock = new();
    /// <summary>Set while the input queue has room (or input is closed): a writer that filled it waits on this.</summary>
    private readonly ManualResetEventSlim _room = new(true);
    private bool _inputClosed;
    private byte _ier, _lcr = 0x03, _mcr = 0x08, _scr, _dll = 0x0c, _dlm, _fcr;
    private bool _thrEmptyPending;

    public Uart8250(Action<byte> output, IInterruptLevel interrupt)
    {
        _output = output;
        _interrupt = interrupt;
    }

    public long BytesOut { get; private set; }

    /// <summary>Registers and queues in one line, for a report when a console seems stuck.</summary>
    public string Describe()
    {
        lock (_lock)
            return $"IER=0x{_ier:x2} LCR=0x{_lcr:x2} MCR=0x{_mcr:x2} FCR=0x{_fcr:x2}, {_input.Count} input bytes unread, THR-empty interrupt {(_thrEmptyPending ? "pending" : "taken")}, {BytesOut} bytes out";
    }

    /// <summary>Unread input held for the guest at most: beyond it a writer waits until the guest reads (a file piped
    /// into the console, or a guest that never reads its serial port, must not grow the VMM without bound).</summary>
    public const int InputCapacity = 64 << 10;

    /// <summary>Queues input for the guest, waiting while <see cref="InputCapacity"/> bytes are unread; returns at once
    /// (dropping the rest) once input is closed (<see cref="CloseInput"/>: the VM is going away).</summary>
    public void QueueInput(ReadOnlySpan<byte> bytes)
    {
        while (true)
        {
            lock (_lock)
            {
                if (_inputClosed) return;
                int n = Math.Min(bytes.Length, InputCapacity - _input.Count);
                foreach (byte b in bytes[..n]) _input.Enqueue(b);
                bytes = bytes[n..];
                if (_input.Count >= InputCapacity) _room.Reset();
                UpdateInterrupt();
                if (bytes.IsEmpty) return;
            }
            _room.Wait(TimeSpan.FromMilliseconds(100));   // set when the guest reads; the timeout only guards a lost race
        }
    }

    /// <summary>Ends input: writers waiting for room return, and later input is dropped.</summary>
    public void CloseInput()
    {
        lock (_lock)
        {
            _inputClosed = true;
            _room.Set();
        }
    }

    /// <summary>Drives the line from the registers (under the lock, so level changes keep their order).</summary>
    private void UpdateInterrupt() =>
        _interrupt.Set(((_ier & IerRda) != 0 && !_input.IsEmpty) || ((_ier & IerThre) != 0 && _thrEmptyPending));

    public void Read(ushort offset, Span<byte> data)
    {
        if (data.Length != 1) { data.Fill(0xff); return; }
        lock (_lock)
        {
            data[0] = ReadRegister(offset);
            UpdateInterrupt();      // reading IIR or RBR may have cleared what was pending
        }
    }

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1) return;
        lock (_lock)
        {
            WriteRegister(offset, data[0]);
            UpdateInterrupt();
        }
    }

    /// <summary>The registers and unread input, for live migration (take it with the VM paused).</summary>
    public UartState SaveState()
    {
        lock (_lock) return new UartState(_ier, _lcr, _mcr, _scr, _dll, _dlm, _fcr, _thrEmptyPending, [.. _input]);
    }

    /// <summary>Puts saved registers and unread input into this UART; the line goes high if something is pending.</summary>
    public void RestoreState(UartState state)
    {
        lock (_lock)
        {
            (_ier, _lcr, _mcr, _scr, _dll, _dlm, _fcr, _thrEmptyPending) =
                (state.Ier, state.Lcr, state.Mcr, state.Scr, state.Dll, state.Dlm, state.Fcr, state.ThrEmptyPending);
            _input.Clear();
            foreach (byte b in state.Input) _input.Enqueue(b);
            if (_input.Count >= InputCapacity) _room.Reset();
            else _room.Set();
            UpdateInterrupt();
        }
    }

    private bool Dlab => (_lcr & LcrDlab) != 0;

    private byte ReadRegister(ushort offset)
    {
        switch (offset)
        {
            case 0:
                if (Dlab) return _dll;
                if (!_input.TryDequeue(out byte b)) return 0;
                if (_input.Count < InputCapacity) _room.Set();
                return b;
            case 1:
                return Dlab ? _dlm : _ier;
            case 2:
                byte fifo = (_fcr & 1) != 0 ? IirFifoEnabled : (byte)0;
                if ((_ier & IerRda) != 0 && !_input.IsEmpty) return (byte)(IirRda | fifo);
                if ((_ier & IerThre) != 0 && _thrEmptyPending)
                {
                    _thrEmptyPending = false;       // reading IIR acknowledges THR-empty
                    return (byte)(IirThre | fifo);
                }
                return (byte)(IirNone | fifo);
            case 3:
                return _lcr;
            case 4:
                return _mcr;
            case 5:
                return (byte)(LsrThrEmpty | LsrIdle | (_input.IsEmpty ? 0 : LsrDataReady));
            case 6:
                if ((_mcr & McrLoop) != 0)
                {
                    // Loopback: modem outputs feed the modem inputs (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD).
                    return (byte)(((_mcr & 0x01) != 0 ? MsrDsr : 0) | ((_mcr & 0x02) != 0 ? MsrCts : 0)
                        | ((_mcr & 0x04) != 0 ? MsrRi : 0) | ((_mcr & 0x08) != 0 ? MsrDcd : 0));
                }
                return MsrDcd | MsrDsr | MsrCts;
            case 7:
                return _scr;
            default:
                return 0xff;
        }
    }

    private void WriteRegister(ushort offset, byte value)
    {
        switch (offset)
        {
            case 0 when Dlab:
                _dll = value;
                return;
            case 0:
                if ((_mcr & McrLoop) != 0) _input.Enqueue(value);
                else
                {
                    _output(value);
                    BytesOut++;
                }
                _thrEmptyPending = true;
                return;
            case 1 when Dlab:
                _dlm = value;
                return;
            case 1:
                bool threEnabled = (value & IerThre) != 0 && (_ier & IerThre) == 0;
                _ier = (byte)(value & 0x0f);
                // Enabling THR-empty with an empty THR raises it at once; Linux's driver relies on this.
                if (threEnabled) _thrEmptyPending = true;
                return;
            case 2:
                _fcr = value;
                if ((value & 0x02) != 0) _input.Clear();   // clear receive FIFO
                return;
            case 3:
                _lcr = value;
                return;
            case 4:
                _mcr = (byte)(value & 0x1f);
                return;
            case 7:
                _scr = value;
                return;
            default:
                return;
        }
    }
}
