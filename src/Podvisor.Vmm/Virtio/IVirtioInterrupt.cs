namespace Podvisor.Vmm.Virtio;

/// <summary>How a device tells the driver something happened; the transport turns it into its interrupt.</summary>
public interface IVirtioInterrupt
{
    /// <summary>Used buffers are waiting (the device already asked its queue whether to interrupt).</summary>
    void SignalUsedBuffers();

    /// <summary>The device's configuration space changed.</summary>
    void SignalConfigChange();
}
