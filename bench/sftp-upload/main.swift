import SFTP
