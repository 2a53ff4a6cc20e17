using System.CommandLine;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using Podvisor.Api.Control;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// <c>podvisor console VM</c>: the running VM's serial console on this terminal, through the Kubernetes API — a
/// WebSocket to the launcher's <c>/v1/console</c> over the API server's pod proxy, authenticated to the API server
/// as the kubeconfig's user and to the launcher with the VM's control token. Ctrl+] detaches (as virtctl and
/// telnet). On a terminal the keyboard goes to the guest raw (Ctrl+C included); with input from a pipe, its lines go
/// as they come and the console stays attached after the pipe ends, until Ctrl+], SIGINT or the VM stopping.
/// </summary>
internal static class ConsoleCommand
{
    public const byte Escape = 0x1d;     // Ctrl+]

    public static Command Create()
    {
        return VmCommand.Create("console", "Attach to a running VM's serial console through the Kubernetes API (Ctrl+] detaches).", async context =>
        {
            using var socket = await AttachAsync(context.Cluster, context.Vm, context.CancellationToken);
            Console.Error.WriteLine($"podvisor: connected to {context.Namespace}/{context.Vm}'s console; Ctrl+] detaches");
            using var raw = TerminalMode.RawIfInteractive();
            return await BridgeAsync(socket, context.CancellationToken);
        });
    }

    /// <summary>Finds the console and opens it. A connection that breaks on the way (a busy API server dropping one)
    /// is tried again, twice, a second apart; answers that say no are not.</summary>
    private static async Task<ClientWebSocket> AttachAsync(ClusterConnection cluster, string vm, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var target = await VmConsoleTarget.FindAsync(cluster.Api, cluster.Namespace, vm, cancellationToken);
                return await ConnectAsync(cluster, target, vm, cancellationToken);
            }
            catch (HttpRequestException e) when (attempt < 3)
            {
                Console.Error.WriteLine($"podvisor: the API server: {ClusterAction.Describe(e)}; trying again");
            }
            catch (TransientConnectException e) when (attempt < 3)
            {
                Console.Error.WriteLine($"podvisor: {e.Message}; trying again");
            }
            catch (TransientConnectException e)
            {
                throw new ClusterException(e.Message);
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    /// <summary>The WebSocket's connection broke before an answer came (as opposed to an answer saying no).</summary>
    private sealed class TransientConnectException(string message) : Exception(message);

    private static async Task<ClientWebSocket> ConnectAsync(ClusterConnection cluster, VmConsoleTarget target, string vm, CancellationToken cancellationToken)
    {
        try
        {
            return await cluster.ConnectWebSocketAsync(target.ProxyPath,
                new Dictionary<string, string> { [ControlApiHeaders.Token] = target.Token }, cancellationToken);
        }
        catch (WebSocketException e) when (e.InnerException is HttpRequestException or IOException)
        {
            throw new TransientConnectException($"cannot open {vm}'s console through the API server: {ClusterAction.Describe(e)}");
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException)
        {
            throw new ClusterException($"cannot open {vm}'s console through the API server ({ClusterAction.Describe(e)}): the API server must reach the pod's IP " +
                "and you need create on pods/proxy");
        }
    }

    /// <summary>Output to stdout, stdin to the guest, until Ctrl+], SIGINT, or the console closing. 0 unless the link broke.</summary>
    private static async Task<int> BridgeAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var detach = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            detach.Cancel();
        });
        var typing = Task.Run(() => PumpInputAsync(socket, detach), CancellationToken.None);
        using var stdout = Console.OpenStandardOutput();
        var buffer = new byte[16 * 1024];
        int exit = 0;
        string ending = "detached";                 // Ctrl+] or SIGINT, whether a receive was pending or not
        try
        {
            while (!detach.IsCancellationRequested)
            {
                var received = await socket.ReceiveAsync(buffer, detach.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    ending = $"the console closed ({received.CloseStatusDescription ?? "the VM stopped"})";
                    break;
                }
                await stdout.WriteAsync(buffer.AsMemory(0, received.Count), CancellationToken.None);
                await stdout.FlushAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (detach.IsCancellationRequested) { }
        catch (WebSocketException e) when (!detach.IsCancellationRequested)
        {
            ending = $"the console connection ended: {e.Message}";
            exit = 1;
        }
        catch (WebSocketException) { }             // aborted by our own detaching
        Console.Error.WriteLine($"\r\npodvisor: {ending}");
        detach.Cancel();
        if (socket.State == WebSocketState.Open)
        {
            using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "detached", closing.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        }
        return exit;
    }

    /// <summary>Sends what is typed; Ctrl+] detaches; the end of piped input stops typing but keeps the console.</summary>
    private static async Task PumpInputAsync(ClientWebSocket socket, CancellationTokenSource detach)
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[4096];
        try
        {
            while (!detach.IsCancellationRequested)
            {
                int n = await stdin.ReadAsync(buffer, detach.Token);
                if (n == 0) return;
                int escape = Array.IndexOf(buffer, Escape, 0, n);
                int send = escape < 0 ? n : escape;
                if (send > 0) await socket.SendAsync(buffer.AsMemory(0, send), WebSocketMessageType.Binary, true, detach.Token);
                if (escape >= 0)
                {
                    await detach.CancelAsync();
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException) { }
    }
}
