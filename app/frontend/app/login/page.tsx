// Log-in page.
import AuthForm from '@/components/AuthForm';

export const metadata = { title: 'Log in · TaskFlow' };

export default function LoginPage() {
  return <AuthForm mode="login" />;
}
