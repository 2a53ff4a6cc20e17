namespace Podvisor.EmulatedHost.Tests;

public sealed class KernelModulesTests
{
    private static readonly string[] ModulesDep =
    [
        "kernel/arch/x86/kvm/kvm-amd.ko: kernel/arch/x86/kvm/kvm.ko kernel/virt/lib/irqbypass.ko kernel/drivers/crypto/ccp/ccp.ko",
        "kernel/arch/x86/kvm/kvm.ko: kernel/virt/lib/irqbypass.ko",
        "kernel/virt/lib/irqbypass.ko:",
        "kernel/drivers/crypto/ccp/ccp.ko:",
        "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko",
        "kernel/net/9p/9pnet.ko:",
        "kernel/fs/netfs/netfs.ko:",
        "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko",
    ];

    [Fact]
    public void DependenciesComeFirstAndOnce()
    {
        var order = new KernelModules(ModulesDep).LoadOrder(["kvm-amd", "9pnet_virtio", "9p"]).ToList();
        Assert.Equal(order.Count, order.Distinct().Count());
        Assert.True(order.IndexOf("kernel/virt/lib/irqbypass.ko") < order.IndexOf("kernel/arch/x86/kvm/kvm.ko"));
        Assert.True(order.IndexOf("kernel/arch/x86/kvm/kvm.ko") < order.IndexOf("kernel/arch/x86/kvm/kvm-amd.ko"));
        Assert.True(order.IndexOf("kernel/net/9p/9pnet.ko") < order.IndexOf("kernel/net/9p/9pnet_virtio.ko"));
        Assert.True(order.IndexOf("kernel/fs/netfs/netfs.ko") < order.IndexOf("kernel/fs/9p/9p.ko"));
        Assert.Equal(8, order.Count);
    }

    [Fact]
    public void UnknownModuleIsNamed()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new KernelModules(ModulesDep).LoadOrder(["kvm_intel"]));
        Assert.Contains("kvm_intel", e.Message);
    }

    [Theory]
    [InlineData("kernel/arch/x86/kvm/kvm-amd.ko", "kvm_amd")]
    [InlineData("kernel/fs/overlayfs/overlay.ko.xz", "overlay")]
    public void ModuleNamesFoldDashes(string path, string name) => Assert.Equal(name, KernelModules.NameOf(path));
}
