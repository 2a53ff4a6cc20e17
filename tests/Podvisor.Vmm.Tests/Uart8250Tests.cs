using Podvisor.Vmm.Devices.Serial;

namespace Podvisor.Vmm.Tests;

public sealed class Uart8250Tests
{
    private readonly List<byte> _out = [];
    private readonly LevelInterrupt _irq = new();
    private readonly Uart8250 _uart;

    public Uart8250Tests() => _uart = new Uart8250(_out.Add, _irq);

    [Fact]
    public void TransmitsBytesAndIsAlwaysReadyForMore()
    {
        foreach (byte b in "hi\n"u8) _uart.Write(0, b);
        Assert.Equal("hi\n"u8.ToArray(), _out);
        Assert.Equal(0x60, _uart.Read(5) & 0x61);     // THR empty, transmitter idle, no data
        Assert.Equal(3, _uart.BytesOut);
    }

    [Fact]
    public void EnablingThrEmptyInterruptRaisesItAndIirReadAcknowledgesIt()
    {
        _uart.Write(1, 0x02);                          // IER: THR empty
        Assert.Equal(1, _irq.Count);
        Assert.Equal(0x02, _uart.Read(2) & 0x0f);      // IIR: THR empty
        Assert.Equal(0x01, _uart.Read(2) & 0x0f);      // acknowledged: none pending
        _uart.Write(0, (byte)'x');
        Assert.Equal(2, _irq.Count);
        Assert.Equal(0x02, _uart.Read(2) & 0x0f);
    }

    [Fact]
    public void ReceivedBytesRaiseDataReadyAndAreReadInOrder()
    {
        _uart.Write(1, 0x01);                          // IER: received data
        _uart.QueueInput("ab"u8);
        Assert.Equal(1, _irq.Count);
        Assert.Equal(0x01, _uart.Read(5) & 0x01);
        Assert.Equal(0x04, _uart.Read(2) & 0x0f);
        Assert.Equal((byte)'a', _uart.Read(0));
        Assert.Equal((byte)'b', _uart.Read(0));
        Assert.Equal(0x00, _uart.Read(5) & 0x01);
        Assert.Equal(0x01, _uart.Read(2) & 0x0f);
    }

    [Fact]
    public void TheLineStaysHighUntilTheGuestTakesWhatIsPendingAsTheChipsPinDoes()
    {
        _uart.Write(1, 0x03);                          // IER: received data and THR empty
        Assert.True(_irq.Level);                       // THR empty, not yet acknowledged
        _uart.QueueInput("a"u8);
        Assert.Equal(1, _irq.Count);                   // already high: no second edge for the data
        Assert.Equal(0x04, _uart.Read(2) & 0x0f);      // data first
        Assert.Equal((byte)'a', _uart.Read(0));
        Assert.True(_irq.Level);                       // THR empty still pending
        Assert.Equal(0x02, _uart.Read(2) & 0x0f);
        Assert.False(_irq.Level);                      // all taken: low
        _uart.Write(0, (byte)'x');
        Assert.True(_irq.Level);
        Assert.Equal(2, _irq.Count);                   // a new edge for the next THR empty
        _uart.Write(1, 0x00);
        Assert.False(_irq.Level);                      // interrupts off: low
    }

    [Fact]
    public void DivisorLatchDoesNotTransmit()
    {
        _uart.Write(3, 0x80);                          // DLAB
        _uart.Write(0, 0x01);
        _uart.Write(1, 0x00);
        Assert.Equal(0x01, _uart.Read(0));
        _uart.Write(3, 0x03);
        Assert.Empty(_out);
    }

    [Fact]
    public void LoopbackEchoesAndMirrorsModemLines()
    {
        _uart.Write(4, 0x10 | 0x0f);                   // loop + DTR RTS OUT1 OUT2
        Assert.Equal(0xf0, _uart.Read(6) & 0xf0);
        _uart.Write(0, 0x5a);
        Assert.Empty(_out);
        Assert.Equal(0x5a, _uart.Read(0));
        _uart.Write(4, 0x10);
        Assert.Equal(0x00, _uart.Read(6) & 0xf0);
    }

    [Fact]
    public void ScratchAndFifoBitsBehaveLikeA16550A()
    {
        _uart.Write(7, 0xa5);
        Assert.Equal(0xa5, _uart.Read(7));
        _uart.Write(2, 0x01);                          // FCR: FIFO on
        Assert.Equal(0xc0, _uart.Read(2) & 0xc0);
        Assert.Equal(0xff, _uart.Read(9));             // outside the register file
    }

    [Fact]
    public void DescribeReportsWhatAStuckConsoleNeedsToKnow()
    {
        _uart.Write(1, 0x01);                          // IER: received data
        _uart.QueueInput("abc"u8);
        _uart.Write(0, (byte)'x');
        Assert.Equal("IER=0x01 LCR=0x03 MCR=0x08 FCR=0x00, 3 input bytes unread, THR-empty interrupt pending, 1 bytes out", _uart.Describe());
    }

    /// <summary>Queues input on a thread of its own (the call waits while the queue is full, as the console pump's does).</summary>
    private Task QueueOnAThread(byte[] bytes) =>
        Task.Factory.StartNew(() => _uart.QueueInput(bytes), TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task<bool> FinishesWithin(Task task, TimeSpan time) =>
        await Task.WhenAny(task, Task.Delay(time, TestContext.Current.CancellationToken)) == task;

    [Fact]
    public async Task InputBeyondTheCapacityWaitsForTheGuestToReadAndNothingIsLost()
    {
        var sent = new byte[Uart8250.InputCapacity + 1000];
        for (int i = 0; i < sent.Length; i++) sent[i] = (byte)(i * 7);
        var writer = QueueOnAThread(sent);
        // The writer fills the queue and waits: the guest has read nothing.
        Assert.False(await FinishesWithin(writer, TimeSpan.FromMilliseconds(300)));
        Assert.Contains($"{Uart8250.InputCapacity} input bytes unread", _uart.Describe());

        var received = new List<byte>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (received.Count < sent.Length && DateTime.UtcNow < deadline)
        {
            if ((_uart.Read(5) & 0x01) != 0) received.Add(_uart.Read(0));   // LSR data ready: read RBR, as the guest does
            else await Task.Delay(1, TestContext.Current.CancellationToken);
        }
        Assert.True(await FinishesWithin(writer, TimeSpan.FromSeconds(5)));
        Assert.Equal(sent, received);
        Assert.Equal(0, _uart.Read(5) & 0x01);
    }

    [Fact]
    public async Task ClosingInputReleasesAWaitingWriterAndDropsWhatFollows()
    {
        var writer = QueueOnAThread(new byte[Uart8250.InputCapacity * 2]);
        Assert.False(await FinishesWithin(writer, TimeSpan.FromMilliseconds(300)));
        _uart.CloseInput();
        Assert.True(await FinishesWithin(writer, TimeSpan.FromSeconds(5)));
        _uart.QueueInput("late"u8);
        Assert.Contains($"{Uart8250.InputCapacity} input bytes unread", _uart.Describe());
    }
}
