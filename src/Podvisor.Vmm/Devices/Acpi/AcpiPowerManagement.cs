using Podvisor.Vmm.Acpi;

namespace Podvisor.Vmm.Devices.Acpi;

/// <summary>
/// The fixed ACPI registers the FADT points at, on consecutive I/O ports: PM1a status (write 1 to clear)
/// and enable, PM1a control, and the reset register. Writing SLP_EN with the S5 sleep type to PM1a control
/// powers the machine off; writing the reset value to the reset register resets it. Only S5 is offered
/// (the DSDT declares no other sleep state). The fixed-feature power button is how the host asks the guest
/// to shut down (as libvirt does for KubeVirt): <see cref="PressPowerButton"/> sets PWRBTN_STS, and the SCI
/// (a level) is high while an enabled status bit is set.
/// </summary>
public sealed class AcpiPowerManagement(Action onPowerOff, Action onReset, Action<bool>? sci = null) : IPortIoDevice
{
    public const ushort StatusOffset = 0, EnableOffset = 2, ControlOffset = 4, ResetOffset = 6;
    public const ushort SciEnable = 1 << 0, SleepEnable = 1 << 13, PowerButton = 1 << 8;
    private const int SleepTypeShift = 10;
    private const ushort SleepTypeMask = 0x7 << SleepTypeShift;

    private readonly Lock _lock = new();
    private ushort _status, _enable, _control = SciEnable;
    private bool _sciLevel;

    /// <summary>Presses the power button: the guest's ACPI sees a power-button event once it has enabled it.</summary>
    public void PressPowerButton()
    {
        lock (_lock)
        {
            _status |= PowerButton;
            UpdateSci();
        }
    }

    /// <summary>Whether the guest has enabled the power button event (PWRBTN_EN): if not, nothing in it listens to the button.</summary>
    public bool PowerButtonEnabled
    {
        get { lock (_lock) return (_enable & PowerButton) != 0; }
    }

    /// <summary>PM1 status, enable and control, for live migration.</summary>
    public AcpiPmState SaveState()
    {
        lock (_lock) return new AcpiPmState(_status, _enable, _control);
    }

    /// <summary>Puts saved registers into this (fresh) device; the SCI follows them (a pending press is raised again).</summary>
    public void RestoreState(AcpiPmState state)
    {
        lock (_lock)
        {
            (_status, _enable, _control) = (state.Status, state.Enable, state.Control);
            UpdateSci();
        }
    }

    // Under the lock, so level changes reach the line in the order the registers changed.
    private void UpdateSci()
    {
        bool level = (_status & _enable & PowerButton) != 0;
        if (level == _sciLevel) return;
        _sciLevel = level;
        sci?.Invoke(level);
    }

    /// <summary>A PM1 control value asking for sleep state <paramref name="sleepType"/>.</summary>
    public static ushort SleepRequest(byte sleepType) => (ushort)((sleepType << SleepTypeShift) | SleepEnable);

    public void Read(ushort offset, Span<byte> data)
    {
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                int port = offset + i;
                data[i] = port >= ResetOffset ? (byte)0 : (byte)(Register(port & ~1) >> (8 * (port & 1)));
            }
        }
    }

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        bool powerOff = false, reset = false;
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                int port = offset + i;
                if (port == ResetOffset)
                {
                    reset |= data[i] == AcpiPorts.ResetValue;
                    continue;
                }
                if (port > ResetOffset) continue;
                int shift = 8 * (port & 1);
                ushort mask = (ushort)(0xff << shift), value = (ushort)(data[i] << shift);
                switch (port & ~1)
                {
                    case StatusOffset: _status &= (ushort)~(value & mask); UpdateSci(); break;        // write 1 to clear
                    case EnableOffset: _enable = (ushort)((_enable & ~mask) | value); UpdateSci(); break;
                    case ControlOffset:
                        ushort control = (ushort)((_control & ~mask) | value);
                        powerOff |= (control & SleepEnable) != 0
                                    && (control & SleepTypeMask) >> SleepTypeShift == Dsdt.S5SleepType;
                        _control = (ushort)((control & ~SleepEnable) | SciEnable);       // SLP_EN reads 0, SCI_EN stays 1
                        break;
                }
            }
        }
        if (powerOff) onPowerOff();
        if (reset) onReset();
    }

    private ushort Register(int offset) => offset switch
    {
        StatusOffset => _status,
        EnableOffset => _enable,
        _ => _control,
    };
}
