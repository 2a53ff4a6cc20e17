using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Podvisor.EmulatedHost;

/// <summary>
/// A Linux KVM host VM ("L1") booted under QEMU's TCG emulation with an emulated AMD-V CPU, so that
/// hardware-assisted KVM (kvm_amd) is available on machines whose own /dev/kvm cannot run stock kernels.
/// Booted once, then fed jobs: each job is a command run as root inside L1, chrooted into a read-only
/// view of this machine's root (with a tmpfs overlay), in the same directory and environment, with its
/// output streamed back over virtio-serial. A watchdog bounds the boot and every job.
/// </summary>
public sealed class EmulatedKvmHost : IAsyncDisposable
{
    private readonly EmulatedHostOptions _options;
    private readonly string _stateDir;
    private readonly Process _qemu;
    private readonly SemaphoreSlim _jobLock = new(1, 1);
    private Socket? _ctl, _in;
    private AgentMarkerReader? _out, _err;
    private readonly List<Task> _readers = [];
    private TaskCompletionSource<string>? _ready;
    private TaskCompletionSource<int>? _outDone, _errDone;
    private int _nextJob;

    private EmulatedKvmHost(EmulatedHostOptions options, string stateDir, Process qemu)
    {
        _options = options;
        _stateDir = stateDir;
        _qemu = qemu;
    }

    /// <summary>Wall time from QEMU start until the agent in L1 was ready.</summary>
    public TimeSpan BootTime { get; private set; }

    public string SerialLogPath => Path.Combine(_stateDir, "serial.log");

    public static async Task<EmulatedKvmHost> StartAsync(EmulatedHostOptions options, CancellationToken cancellationToken = default)
    {
        var assets = await L1Assets.EnsureAsync(options.CacheDirectory, options.Log, cancellationToken);
        string state = Directory.CreateTempSubdirectory("podvisor-eh-").FullName;
        string ctlDir = Path.Combine(state, "ctl");
        Directory.CreateDirectory(ctlDir);
        var shares = options.WritableShares.Select(Path.GetFullPath).ToList();
        await File.WriteAllTextAsync(Path.Combine(ctlDir, "shares"), string.Concat(shares.Select(s => s + "\n")), cancellationToken);

        var psi = new ProcessStartInfo(options.QemuBinary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in QemuArguments(options, assets, state, ctlDir, shares)) psi.ArgumentList.Add(arg);
        var stopwatch = Stopwatch.StartNew();
        Process qemu;
        try
        {
            qemu = Process.Start(psi) ?? throw new EmulatedHostException($"could not start {options.QemuBinary}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Directory.Delete(state, recursive: true);
            throw new EmulatedHostException($"could not start {options.QemuBinary}: {e.Message} (apt-get install qemu-system-x86)");
        }

        var host = new EmulatedKvmHost(options, state, qemu);
        try
        {
            await host.ConnectAsync(cancellationToken);
            string ready = await host.WaitAsync(host._ready!.Task, options.BootTimeout, "booting the emulated KVM host", cancellationToken);
            host.BootTime = stopwatch.Elapsed;
            options.Log?.Invoke($"emulated host: {assets.KernelVersion} ready in {host.BootTime.TotalSeconds:0.0} s (L1 uptime {ready.Split(' ').ElementAtOrDefault(1)} s)");
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static IEnumerable<string> QemuArguments(EmulatedHostOptions options, L1Assets assets, string state, string ctlDir, List<string> shares)
    {
        string[] fixedArgs =
        [
            // No ERMS/FSRM: with them the kernels and glibc copy and clear memory with `rep movsb`/`rep stosb`, which
            // TCG runs a byte at a time — 6–8x slower than the unrolled loops chosen without them (measured in L1:
            // 18 MB read into fresh memory 122 → 18 ms, 18 MB zeroed 102 → 13–19 ms). L2 guests inherit the leaves
            // from L1 (KVM_GET_SUPPORTED_CPUID, QEMU's -cpu host), so every VMM under test sees the same CPU.
            "-accel", "tcg,thread=multi", "-cpu", "max,erms=off,fsrm=off", "-m", options.MemoryMiB.ToString(), "-smp", options.Cpus.ToString(),
            "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", $"file:{Path.Combine(state, "serial.log")}",
            "-kernel", assets.Kernel, "-initrd", assets.Initrd, "-append", "console=ttyS0 loglevel=4 panic=-1",
            // This machine's root, read-only; multidevs=remap because / spans several filesystems.
            "-fsdev", "local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=fsroot,mount_tag=hostfs",
            "-fsdev", $"local,id=fsctl,path={ctlDir},security_model=none",
            "-device", "virtio-9p-pci,fsdev=fsctl,mount_tag=ctl",
            "-device", "virtio-serial-pci",
        ];
        foreach (string a in fixedArgs) yield return a;
        foreach (string port in new[] { "ctl", "out", "err", "in" })
        {
            yield return "-chardev";
            yield return $"socket,id={port},path={Path.Combine(state, port + ".sock")},server=on,wait=off";
            yield return "-device";
            yield return $"virtserialport,chardev={port},name=podvisor.{port}";
        }
        for (int i = 0; i < shares.Count; i++)
        {
            yield return "-fsdev";
            yield return $"local,id=fsrw{i},path={shares[i]},security_model=none,multidevs=remap";
            yield return "-device";
            yield return $"virtio-9p-pci,fsdev=fsrw{i},mount_tag=rw{i}";
        }
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _out = new AgentMarkerReader(marker => OnMarker(marker, isErr: false));
        _err = new AgentMarkerReader(marker => OnMarker(marker, isErr: true));
        var deadline = Stopwatch.StartNew();
        _ctl = await ConnectPortAsync("ctl", deadline, cancellationToken);
        var outSocket = await ConnectPortAsync("out", deadline, cancellationToken);
        var errSocket = await ConnectPortAsync("err", deadline, cancellationToken);
        _in = await ConnectPortAsync("in", deadline, cancellationToken);
        _readers.Add(Task.Run(() => Pump(outSocket, _out), CancellationToken.None));
        _readers.Add(Task.Run(() => Pump(errSocket, _err), CancellationToken.None));
        _readers.Add(Task.Run(() => Pump(_qemu.StandardOutput.BaseStream, Path.Combine(_stateDir, "qemu.log")), CancellationToken.None));
        _readers.Add(Task.Run(() => Pump(_qemu.StandardError.BaseStream, Path.Combine(_stateDir, "qemu.log")), CancellationToken.None));
    }

    private async Task<Socket> ConnectPortAsync(string port, Stopwatch deadline, CancellationToken cancellationToken)
    {
        string path = Path.Combine(_stateDir, port + ".sock");
        while (true)
        {
            if (_qemu.HasExited) throw Failure($"QEMU exited (code {_qemu.ExitCode}) before its {port} port was up");
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                return socket;
            }
            catch (SocketException) when (deadline.Elapsed < _options.BootTimeout)
            {
                socket.Dispose();
                await Task.Delay(50, cancellationToken);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw Failure($"cannot connect to QEMU's {port} port: {e.Message}");
            }
        }
    }

    private static void Pump(Socket socket, AgentMarkerReader reader)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = socket.Receive(buffer)) > 0) reader.Feed(buffer.AsSpan(0, n));
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    private static void Pump(Stream stream, string logPath)
    {
        using var log = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.CopyTo(log);
    }

    private void OnMarker(string marker, bool isErr)
    {
        string[] parts = marker.Split(' ');
        switch (parts[0])
        {
            case "PVREADY" when !isErr:
                _ready?.TrySetResult(marker);
                break;
            case "PVDONE" when parts.Length == 3 && int.TryParse(parts[2], out int rc):
                (isErr ? _errDone : _outDone)?.TrySetResult(rc);
                break;
        }
    }

    /// <summary>
    /// Runs <paramref name="command"/> inside the emulated host (as root, in <paramref name="workingDirectory"/>
    /// with this process's environment plus <paramref name="environment"/>), streaming its output. Returns its
    /// exit code. A job that outlives <paramref name="timeout"/> takes the whole emulated host down with it.
    /// With <paramref name="stdin"/>, what it yields is fed to the job's standard input while the job runs
    /// (the input port never signals end of file: a job reading to EOF waits).
    /// </summary>
    public async Task<int> RunAsync(IReadOnlyList<string> command, Stream stdout, Stream stderr, TimeSpan timeout,
        string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null,
        CancellationToken cancellationToken = default, Stream? stdin = null)
    {
        if (command.Count == 0) throw new ArgumentException("no command given", nameof(command));
        await _jobLock.WaitAsync(cancellationToken);
        try
        {
            if (_qemu.HasExited) throw Failure($"the emulated host is down (QEMU exit code {_qemu.ExitCode})");
            int id = ++_nextJob;
            await File.WriteAllTextAsync(Path.Combine(_stateDir, "ctl", $"job-{id}.sh"),
                JobScript(command, workingDirectory ?? Environment.CurrentDirectory, environment), cancellationToken);
            _outDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _errDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _out!.Sink = stdout;
            _err!.Sink = stderr;
            try
            {
                await _ctl!.SendAsync(Encoding.ASCII.GetBytes($"{(stdin is null ? "run" : "run-stdin")} {id}\n"), cancellationToken);
                if (stdin is not null) StartInputPump(stdin, _outDone.Task);
                string what = $"job {id} ({string.Join(' ', command)})";
                int rc = await WaitAsync(_outDone.Task, timeout, what, cancellationToken);
                await WaitAsync(_errDone.Task, TimeSpan.FromSeconds(30), what + " stderr", cancellationToken);
                return rc;
            }
            finally
            {
                _out.Sink = null;
                _err.Sink = null;
                await stdout.FlushAsync(CancellationToken.None);
                await stderr.FlushAsync(CancellationToken.None);
            }
        }
        finally
        {
            _jobLock.Release();
        }
    }

    /// <summary>
    /// Copies <paramref name="stdin"/> to the input port on a background thread until the job is done. A
    /// thread, not a task: reads from a terminal cannot be cancelled, and an idle one must not hold a pool thread.
    /// </summary>
    private void StartInputPump(Stream stdin, Task jobDone)
    {
        var socket = _in!;
        var thread = new Thread(() =>
        {
            var buffer = new byte[4096];
            try
            {
                int n;
                while (!jobDone.IsCompleted && (n = stdin.Read(buffer)) > 0)
                {
                    if (jobDone.IsCompleted) break;
                    socket.Send(buffer.AsSpan(0, n));
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
        }) { IsBackground = true, Name = "emulated-host-stdin" };
        thread.Start();
    }

    internal static string JobScript(IReadOnlyList<string> command, string workingDirectory, IReadOnlyDictionary<string, string>? extra)
    {
        var script = new StringBuilder("#!/bin/sh\n");
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            env[(string)e.Key] = (string?)e.Value ?? "";
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) env[k] = v;
        foreach (var (key, value) in env)
        {
            if (key is "PWD" or "OLDPWD" or "SHLVL" or "_" || !IsShellName(key)) continue;
            script.Append("export ").Append(key).Append('=').Append(Quote(value)).Append('\n');
        }
        script.Append("cd ").Append(Quote(workingDirectory)).Append(" || { echo ")
            .Append(Quote($"podvisor: {workingDirectory} is not visible inside the emulated KVM host"))
            .Append(" >&2; exit 126; }\n");
        script.Append("exec");
        foreach (string arg in command) script.Append(' ').Append(Quote(arg));
        script.Append('\n');
        return script.ToString();
    }

    private static bool IsShellName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    internal static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    private async Task<T> WaitAsync<T>(Task<T> task, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var qemuExit = _qemu.WaitForExitAsync(cancellationToken);
        var first = await Task.WhenAny(task, qemuExit, Task.Delay(timeout, cancellationToken));
        if (first == task) return await task;
        cancellationToken.ThrowIfCancellationRequested();
        if (first == qemuExit)
            throw Failure($"{what}: QEMU exited (code {_qemu.ExitCode})");
        KillQemu();
        throw Failure($"{what}: no answer within {timeout.TotalSeconds:0} s; the emulated host was stopped");
    }

    private EmulatedHostException Failure(string message)
    {
        var text = new StringBuilder(message);
        foreach (var (name, file) in new[] { ("serial console", SerialLogPath), ("QEMU", Path.Combine(_stateDir, "qemu.log")) })
        {
            if (!File.Exists(file)) continue;
            string[] lines;
            using (var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)))
                lines = reader.ReadToEnd().Split('\n');
            text.Append($"\n--- last lines of the emulated host's {name} ---\n").Append(string.Join('\n', lines.TakeLast(30)));
        }
        return new EmulatedHostException(text.ToString());
    }

    private void KillQemu()
    {
        try
        {
            if (!_qemu.HasExited) _qemu.Kill(entireProcessTree: true);
            _qemu.WaitForExit();          // reap it, so every later call sees the host as down
        }
        catch (InvalidOperationException) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ctl is not null && !_qemu.HasExited)
        {
            try
            {
                await _ctl.SendAsync("exit\n"u8.ToArray());
                await _qemu.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException) { }
        }
        KillQemu();
        await _qemu.WaitForExitAsync();
        _ctl?.Dispose();
        _in?.Dispose();
        await Task.WhenAll(_readers).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _qemu.Dispose();
        try
        {
            Directory.Delete(_stateDir, recursive: true);
        }
        catch (IOException) { }
    }
}
