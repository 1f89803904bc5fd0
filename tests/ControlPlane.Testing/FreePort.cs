using System.Net;
using System.Net.Sockets;

namespace ControlPlane.Testing;

/// <summary>Free TCP ports on loopback for servers that tests start.</summary>
public static class FreePort
{
    /// <summary>
    /// A port that was free on 127.0.0.1 a moment ago. Another process can take it before the caller
    /// binds it, so servers started on it retry with a new port when the bind fails.
    /// </summary>
    /// <param name="taken">Ports already handed to the same server: the kernel may give a port just released again.</param>
    public static int Next(params int[] taken)
    {
        while (true)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            if (!taken.Contains(port))
            {
                return port;
            }
        }
    }

    /// <summary>Whether something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> IsListeningAsync(int port, CancellationToken ct = default)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
