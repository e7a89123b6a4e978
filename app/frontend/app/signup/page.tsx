// Sign-up page.
import AuthForm from '@/components/AuthForm';

export const metadata = { title: 'Sign up · TaskFlow' };

export default function SignupPage() {
  return <AuthForm mode="signup" />;
}
