namespace Podvisor.Launcher;

/// <summary>
/// The launcher image's static helpers, installed by the pod's first init container into a shared emptyDir so
/// init containers of other images (a containerDisk's, a kernelBoot.container's: nothing in them but files)
/// can run them. Today: <c>podvisor-copy</c> (Helpers/podvisor-copy.c).
/// </summary>
public static class Helpers
{
    public const string Copy = "podvisor-copy";

    public static int Install(string folder, Action<string> log)
    {
        string source = Path.Combine(AppContext.BaseDirectory, Copy);
        if (!File.Exists(source))
        {
            log($"error: {source} is missing from this launcher's installation");
            return 2;
        }
        try
        {
            Directory.CreateDirectory(folder);
            string target = Path.Combine(folder, Copy);
            File.Copy(source, target, overwrite: true);
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            log($"installed {target}");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log($"error: cannot install the helpers in {folder}: {e.Message}");
            return 2;
        }
    }
}
